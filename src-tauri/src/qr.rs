//! QR codes as SVG, for the "another device" registration link (shown as a `data:` image, so
//! the strict CSP needs no exception).

use std::fmt::Write as _;

use qrcode::{Color, QrCode};

/// Modules of light margin around the code (the QR spec's quiet zone).
const QUIET_ZONE: usize = 4;

/// Draws `data` as a black-on-white QR code: one SVG path, one unit per module.
///
/// # Errors
/// When `data` is too long for a QR code.
pub fn svg(data: &str) -> Result<String, qrcode::types::QrError> {
    let code = QrCode::new(data.as_bytes())?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
<rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn svg_has_a_square_view_box_and_dark_modules() {
        let svg = super::svg("https://example.com/ui/login/passwordless/init?code=x").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(svg.contains("<path d=\"M"));
        assert!(svg.ends_with("</svg>"));
    }
}
