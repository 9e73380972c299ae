//! Browser checks (see tests/e2e/browser/): placeholder replaced below.
