//! Charts drawn on the server as inline SVG: no script, readable by
//! screen readers (each chart has a title and its figures as text), and
//! scaled to the width of the page.

use std::fmt::Write as _;

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar: its label, its value (for the length) and the value as shown.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What the bar is.
    pub label: String,
    /// Its length, in any unit shared by the chart's bars.
    pub value: f64,
    /// The value as the page writes it.
    pub shown: String,
}

const PALETTE: [&str; 6] = [
    "#1f5fa8", "#b3541e", "#2e7d4f", "#7b3fa0", "#8a6d00", "#a8324a",
];

/// A horizontal bar chart. Negative values draw no bar but keep their text.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let row = 28.0;
    let label_w = 170.0;
    let width = 520.0;
    let bar_w = width - label_w - 110.0;
    let height = (bars.len() as f64 * row).max(row) + 8.0;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet"><title>{t}</title>"#,
        t = escape(title),
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let len = if max > 0.0 && b.value > 0.0 {
            (b.value / max * bar_w).max(2.0)
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r#"<text x="{lx}" y="{ty}" text-anchor="end" class="label">{label}</text><rect x="{label_w}" y="{y}" width="{len:.1}" height="{h}" fill="{fill}" rx="2"/><text x="{vx:.1}" y="{ty}" class="value">{shown}</text>"#,
            lx = label_w - 8.0,
            ty = y + row / 2.0 + 1.0,
            label = escape(&b.label),
            h = row - 8.0,
            fill = PALETTE[i % PALETTE.len()],
            vx = label_w + len + 6.0,
            shown = escape(&b.shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Several series over the same points (weeks): one polyline each, a
/// legend, and the points' labels along the bottom.
pub fn lines(title: &str, points: &[String], series: &[(String, Vec<u64>)]) -> String {
    let (width, height) = (520.0, 220.0);
    let (left, right, top, bottom) = (36.0, 12.0, 12.0, 64.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = if points.len() > 1 {
        plot_w / (points.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| left + i as f64 * step;
    let y = |v: u64| top + plot_h - v as f64 / max * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet"><title>{t}</title>"#,
        t = escape(title),
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" class="axis"/><text x="{lx}" y="{ty}" text-anchor="end" class="label">{max}</text><text x="{lx}" y="{b}" text-anchor="end" class="label">0</text>"#,
        b = top + plot_h,
        r = width - right,
        lx = left - 4.0,
        ty = top + 8.0,
        max = max as u64,
    );
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="label">{}</text>"#,
            x(i),
            top + plot_h + 14.0,
            escape(p)
        );
    }
    for (n, (name, values)) in series.iter().enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        let path: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        let ly = top + plot_h + 30.0 + (n / 2) as f64 * 14.0;
        let lx = left + (n % 2) as f64 * (plot_w / 2.0);
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{ry}" width="10" height="10" fill="{colour}"/><text x="{tx}" y="{ly}" class="label">{}</text>"#,
            escape(name),
            ry = ly - 9.0,
            tx = lx + 14.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let svg = bars(
            "Pipeline <by> vendor",
            &[
                Bar {
                    label: "A&B".into(),
                    value: 100.0,
                    shown: "100".into(),
                },
                Bar {
                    label: "<script>".into(),
                    value: 50.0,
                    shown: "50".into(),
                },
            ],
        );
        assert!(svg.contains("A&amp;B"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("<title>Pipeline &lt;by&gt; vendor</title>"));
        // The largest bar takes the whole bar width (520 - 170 - 110), the
        // other half of it.
        assert!(svg.contains(r#"width="240.0""#), "{svg}");
        assert!(svg.contains(r#"width="120.0""#), "{svg}");
    }

    #[test]
    fn series_draw_one_line_each_with_a_legend() {
        let svg = lines(
            "Leads",
            &["1.11".into(), "8.11".into(), "15.11".into()],
            &[
                ("Spring".into(), vec![0, 4, 2]),
                ("Fall".into(), vec![1, 1, 1]),
            ],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">Spring<") && svg.contains(">Fall<"));
        assert!(svg.contains(">4<"), "the axis shows the maximum: {svg}");
    }
}
