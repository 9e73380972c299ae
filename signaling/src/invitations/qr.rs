//! The QR code of a visit link, as SVG: sharp at any size on screen and on paper.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Renders `url` as a QR code. Medium error correction survives a crumpled card.
pub fn svg(url: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| anyhow::anyhow!("making QR code: {e}"))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_becomes_an_svg() {
        let svg = super::svg("http://127.0.0.1:8080/v/abc").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
