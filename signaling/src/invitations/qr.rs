//! The QR code of a visit link, as SVG: sharp at any size on screen and on paper;
//! and as PNG for e-mail, where SVG images are not shown.

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

/// Pixels per module in the PNG: a 41-module code plus its quiet zone is ~300 px,
/// sharp when a mail client shows it at 180.
const PNG_SCALE: usize = 6;
const QUIET_ZONE: usize = 4;

/// Renders `url` as a black-on-white PNG (8-bit grey).
pub fn png(url: &str) -> anyhow::Result<Vec<u8>> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| anyhow::anyhow!("making QR code: {e}"))?;
    let modules = code.width();
    let dark = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in dark.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            pixels[y * side + mx * PNG_SCALE..y * side + (mx + 1) * PNG_SCALE].fill(0);
        }
    }
    let side32 = u32::try_from(side)?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side32, side32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_becomes_a_png() {
        let png = super::png("http://127.0.0.1:8080/v/abc").unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{:?}", &png[..8]);
    }

    #[test]
    fn a_link_becomes_an_svg() {
        let svg = super::svg("http://127.0.0.1:8080/v/abc").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
