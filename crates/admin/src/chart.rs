//! Charts as SVG drawn on the server: no script, nothing fetched, nothing a strict
//! Content-Security-Policy blocks (colours are presentation attributes, not styles).

use std::fmt::Write;

/// One bar: its label under the axis, its value in minor units, and the text shown on
/// hover.
pub(crate) struct Bar {
    pub label: String,
    pub value: i64,
    pub hover: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A step for the value axis: 1, 2 or 5 times a power of ten, about a quarter of `span`.
fn step(span: i64) -> i64 {
    let rough = (span.max(4) / 4).max(1);
    let mut power = 1i64;
    while power.saturating_mul(10) <= rough {
        power *= 10;
    }
    for m in [1, 2, 5, 10] {
        if power.saturating_mul(m) >= rough {
            return power.saturating_mul(m);
        }
    }
    power.saturating_mul(10)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bars for `bars`, a dashed line for `compare` (the same number of points, or none),
/// values labelled on the axis by `axis` (minor units to text).
pub(crate) fn bars(
    title: &str,
    bars: &[Bar],
    compare: Option<&[i64]>,
    axis: impl Fn(i64) -> String,
) -> String {
    let values = bars
        .iter()
        .map(|b| b.value)
        .chain(compare.unwrap_or(&[]).iter().copied());
    let (lo, hi) = values.fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let step = step(hi - lo);
    let lo = if lo < 0 { (lo / step - 1) * step } else { 0 };
    let hi = ((hi / step) + 1) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: i64| TOP + plot_h * (hi - v) as f64 / (hi - lo).max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"##,
        escape(title),
        escape(title)
    );
    let mut v = lo;
    while v <= hi {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#dadce0" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#5f6368">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&axis(v)),
            y = y(v),
        );
        v += step;
    }
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let width = (slot * 0.7).max(1.0);
    let every = (bars.len() / 8).max(1);
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let (top, bottom) = if bar.value >= 0 {
            (y(bar.value), y(0))
        } else {
            (y(0), y(bar.value))
        };
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{x:.1}" y="{top:.1}" width="{width:.1}" height="{:.1}" fill="#0b57d0"><title>{}</title></rect>"##,
            (bottom - top).max(0.5),
            escape(&bar.hover)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11" fill="#5f6368">{}</text>"##,
                LEFT + slot * i as f64 + slot / 2.0,
                HEIGHT - 8.0,
                escape(&bar.label)
            );
        }
    }
    if let Some(compare) = compare.filter(|c| !c.is_empty()) {
        let points: Vec<String> = compare
            .iter()
            .enumerate()
            .map(|(i, &v)| format!("{:.1},{:.1}", LEFT + slot * i as f64 + slot / 2.0, y(v)))
            .collect();
        let _ = write!(
            svg,
            r##"<polyline class="compare" points="{}" fill="none" stroke="#5f6368" stroke-width="2" stroke-dasharray="5 4"/>"##,
            points.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(step(100), 50);
        assert_eq!(step(1_000), 500);
        assert_eq!(step(7_300), 2_000);
        assert_eq!(step(0), 1);
    }

    #[test]
    fn labels_are_escaped_and_every_bar_is_drawn() {
        let svg = bars(
            "Net <sales>",
            &[
                Bar {
                    label: "a".into(),
                    value: 100,
                    hover: "a & b".into(),
                },
                Bar {
                    label: "b".into(),
                    value: -50,
                    hover: "b".into(),
                },
            ],
            Some(&[80, 20]),
            |v| v.to_string(),
        );
        assert!(svg.contains("Net &lt;sales&gt;"));
        assert!(svg.contains("a &amp; b"));
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("class=\"compare\""));
    }
}
