//! Charts drawn on the server as inline SVG: no script, readable by
//! screen readers (each chart has a title and its figures as text), and
//! scaled to the width of the page. The shapes are computed here and drawn
//! by the `chart_*.svg` templates, which escape the text.

use askama::Template;

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

/// A horizontal bar chart, ready to draw; it writes itself as SVG.
#[derive(Debug, Template)]
#[template(path = "chart_bars.svg")]
pub struct BarChart {
    title: String,
    width: f64,
    height: f64,
    /// Where the labels end, right-aligned.
    label_x: f64,
    /// Where the bars start.
    bar_x: f64,
    bar_height: f64,
    bars: Vec<BarShape>,
}

/// One bar as drawn.
#[derive(Debug)]
struct BarShape {
    /// The label as drawn (cut when long).
    label: String,
    /// The whole label.
    full: String,
    shown: String,
    y: f64,
    /// The baseline of the bar's label and value.
    text_y: f64,
    length: f64,
    value_x: f64,
    fill: &'static str,
}

/// About how wide a character of the charts' text (17 px, in the
/// viewBox's units) is: a little over the average glyph, so text fits.
const CHAR_W: f64 = 9.5;

// The estimate is at least the average glyph of the charts' 17 px
// sans-serif (about 0.55 em), so what the layout fits, the browser fits.
const _: () = assert!(CHAR_W >= 0.55 * 17.0);

/// The longest label drawn, in characters; a longer one ends in "…" (the
/// whole of it stays in the chart's text for screen readers).
const LABEL_CHARS: usize = 24;

/// `text` cut to `max` characters, ending in "…" when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// How wide `text` is drawn, about.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_W
}

/// A horizontal bar chart. Negative values draw no bar but keep their
/// text. The labels' column and the values' room are as wide as their
/// longest text, so nothing is cut off; the chart widens rather than
/// squeeze its bars below 160 units.
pub fn bars(title: &str, bars: &[Bar]) -> BarChart {
    let row = 28.0;
    let longest = |f: &dyn Fn(&Bar) -> String| {
        bars.iter()
            .map(|b| text_width(&f(b)))
            .fold(0.0_f64, f64::max)
    };
    let label_w = (longest(&|b| clip(&b.label, LABEL_CHARS)) + 16.0).max(60.0);
    let value_w = longest(&|b| b.shown.clone()) + 14.0;
    let width = (label_w + value_w + 160.0).max(520.0);
    let bar_w = width - label_w - value_w;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let shapes = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let y = 4.0 + i as f64 * row;
            let length = if max > 0.0 && b.value > 0.0 {
                (b.value / max * bar_w).max(2.0)
            } else {
                0.0
            };
            BarShape {
                label: clip(&b.label, LABEL_CHARS),
                full: b.label.clone(),
                shown: b.shown.clone(),
                y,
                text_y: y + row / 2.0 + 1.0,
                length,
                value_x: label_w + length + 6.0,
                fill: PALETTE[i % PALETTE.len()],
            }
        })
        .collect();
    BarChart {
        title: title.to_owned(),
        width,
        height: (bars.len() as f64 * row).max(row) + 8.0,
        label_x: label_w - 8.0,
        bar_x: label_w,
        bar_height: row - 8.0,
        bars: shapes,
    }
}

/// Series over the same points, ready to draw; it writes itself as SVG.
#[derive(Debug, Template)]
#[template(path = "chart_lines.svg")]
pub struct LineChart {
    title: String,
    width: f64,
    height: f64,
    /// The plot's left and right edges and its baseline.
    left: f64,
    right: f64,
    bottom: f64,
    /// Where the axis' figures end, right-aligned, and the baseline of its
    /// maximum.
    axis_label_x: f64,
    max_y: f64,
    max: u64,
    /// The baseline of the points' labels.
    point_y: f64,
    points: Vec<PointLabel>,
    series: Vec<SeriesShape>,
}

/// A point's label along the bottom.
#[derive(Debug)]
struct PointLabel {
    x: f64,
    label: String,
}

/// One series' line and its entry in the legend.
#[derive(Debug)]
struct SeriesShape {
    name: String,
    colour: &'static str,
    /// The polyline's points, `x,y x,y ...`.
    points: String,
    legend_x: f64,
    legend_y: f64,
    swatch_y: f64,
    text_x: f64,
}

/// Several series over the same points (weeks): one polyline each, a
/// legend, and the points' labels along the bottom.
pub fn lines(title: &str, points: &[String], series: &[(String, Vec<u64>)]) -> LineChart {
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
    let labels = points
        .iter()
        .enumerate()
        .map(|(i, p)| PointLabel {
            x: x(i),
            label: p.clone(),
        })
        .collect();
    let shapes = series
        .iter()
        .enumerate()
        .map(|(n, (name, values))| {
            let path: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            let legend_y = top + plot_h + 30.0 + (n / 2) as f64 * 14.0;
            let legend_x = left + (n % 2) as f64 * (plot_w / 2.0);
            SeriesShape {
                name: name.clone(),
                colour: PALETTE[n % PALETTE.len()],
                points: path.join(" "),
                legend_x,
                legend_y,
                swatch_y: legend_y - 9.0,
                text_x: legend_x + 14.0,
            }
        })
        .collect();
    LineChart {
        title: title.to_owned(),
        width,
        height,
        left,
        right: width - right,
        bottom: top + plot_h,
        axis_label_x: left - 4.0,
        max_y: top + 8.0,
        max: max as u64,
        point_y: top + plot_h + 14.0,
        points: labels,
        series: shapes,
    }
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
        )
        .to_string();
        // Askama writes the escaped characters as numeric references.
        assert!(svg.contains("A&#38;B"));
        assert!(svg.contains("&#60;script&#62;"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("<title>Pipeline &#60;by&#62; vendor</title>"));
        // The labels' column fits "<script>" (8 × 9.5 + 16 = 92), the
        // values' "100" (3 × 9.5 + 14 = 42.5): the largest bar takes the
        // rest of 520 (385.5), the other half of it.
        assert!(svg.contains(r#"width="385.5""#), "{svg}");
        assert!(svg.contains(r#"width="192.8""#), "{svg}");
    }

    #[test]
    fn long_labels_and_values_fit_and_long_names_are_cut_with_an_ellipsis() {
        let chart = bars(
            "Margin",
            &[
                Bar {
                    label: "Northwind Networks".into(),
                    value: 48_000.0,
                    shown: "48,000.00 EUR".into(),
                },
                Bar {
                    label: "A vendor with a name far too long to draw whole".into(),
                    value: 1.0,
                    shown: "1.00 EUR".into(),
                },
            ],
        );
        // Every label ends inside the chart, right-aligned at label_x, and
        // starts after 0; every value ends before the right edge.
        for b in &chart.bars {
            assert!(chart.label_x - text_width(&b.label) >= 0.0, "{}", b.label);
            assert!(
                b.value_x + text_width(&b.shown) <= chart.width,
                "{}",
                b.shown
            );
        }
        let svg = chart.to_string();
        assert!(svg.contains(">Northwind Networks<"), "{svg}");
        assert!(svg.contains(">A vendor with a name fa…<"), "{svg}");
        assert!(svg.contains("<title>A vendor with a name far too long to draw whole</title>"));
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
        )
        .to_string();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">Spring<") && svg.contains(">Fall<"));
        assert!(svg.contains(">4<"), "the axis shows the maximum: {svg}");
    }
}
