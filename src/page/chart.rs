//! The section's charts, as inline SVG drawn by plotters' SVG backend
//! (text is left to the browser's fonts: no font is read or embedded).
//!
//! - [`counts`]: distinct and raw warnings and errors per build over its
//!   start time; x labels name the kernel release of the build nearest to
//!   each tick. Past [`MAX_POINTS`] builds, each series is the maximum per
//!   time bucket (a spike stays visible).
//! - [`statuses`]: one lane per status; a mark where builds with that
//!   status started, in at most [`MAX_COLUMNS`] columns.
//!
//! Builds without a start time are not drawn (the page says how many).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::BuildRow;

/// Points per series before they are bucketed.
pub const MAX_POINTS: usize = 1000;
/// Columns of the status timeline.
pub const MAX_COLUMNS: usize = 400;

const WIDTH: u32 = 960;
const WARN: RGBColor = RGBColor(0xd9, 0x8c, 0x00);
const ERR: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const WARN_RAW: RGBColor = RGBColor(0xf3, 0xc9, 0x7a);
const ERR_RAW: RGBColor = RGBColor(0xef, 0x9a, 0x9a);
const PASS: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const OTHER: RGBColor = RGBColor(0x75, 0x75, 0x75);

/// The series of the counts chart: name, index in `Record::counts`,
/// colour, stroke width and whether each build gets a dot. The raw counts
/// are drawn first, so the distinct ones stay visible where they agree.
const SERIES: [(&str, usize, RGBColor, u32, bool); 4] = [
    ("raw warnings (W:)", 0, WARN_RAW, 1, false),
    ("raw errors (E:)", 1, ERR_RAW, 1, false),
    ("distinct warnings", 2, WARN, 2, true),
    ("distinct errors", 3, ERR, 2, true),
];

/// The builds with a start time, in time order: (time, build).
fn timed(builds: &[BuildRow]) -> Vec<(f64, &BuildRow)> {
    let mut t: Vec<(f64, &BuildRow)> = builds
        .iter()
        .filter_map(|b| b.time.map(|t| (t, b)))
        .collect();
    t.sort_by(|a, b| a.0.total_cmp(&b.0));
    t
}

/// The x range, widened when all builds started at one moment.
fn x_range(t: &[(f64, &BuildRow)]) -> (f64, f64) {
    let (lo, hi) = (t[0].0, t[t.len() - 1].0);
    let pad = ((hi - lo) * 0.04).max(60.0);
    (lo - pad, hi + pad)
}

/// The x labels: the release of the build nearest to `x`, and its start
/// day (or time, when the builds span less than two days).
fn label(t: &[(f64, &BuildRow)], x: f64) -> String {
    let i = t.partition_point(|(tt, _)| *tt < x);
    let best = [i.saturating_sub(1), i.min(t.len() - 1)]
        .into_iter()
        .min_by(|&a, &b| (t[a].0 - x).abs().total_cmp(&(t[b].0 - x).abs()))
        .unwrap_or(0);
    let (at, b) = t[best];
    let span = t[t.len() - 1].0 - t[0].0;
    let when = chrono::DateTime::from_timestamp(at as i64, 0)
        .map(|d| {
            d.format(if span < 2.0 * 86400.0 {
                "%H:%M"
            } else {
                "%Y-%m-%d"
            })
            .to_string()
        })
        .unwrap_or_default();
    match b.rec.kernel_version.as_deref() {
        Some(v) => format!("{v} · {when}"),
        None => when,
    }
}

/// (x, per series value), bucketed past [`MAX_POINTS`].
fn points(t: &[(f64, &BuildRow)], lo: f64, hi: f64) -> Vec<(f64, [u64; 4])> {
    let value = |b: &BuildRow| SERIES.map(|(_, i, ..)| b.rec.counts[i].unwrap_or(0));
    if t.len() <= MAX_POINTS {
        return t.iter().map(|(x, b)| (*x, value(b))).collect();
    }
    let width = (hi - lo) / MAX_POINTS as f64;
    let mut out: Vec<(f64, [u64; 4])> = Vec::new();
    let mut current: Option<(usize, [u64; 4])> = None;
    for (x, b) in t {
        let bucket = (((x - lo) / width) as usize).min(MAX_POINTS - 1);
        let v = value(b);
        match &mut current {
            Some((at, m)) if *at == bucket => {
                for (m, v) in m.iter_mut().zip(v) {
                    *m = (*m).max(v);
                }
            }
            _ => {
                if let Some((at, m)) = current.take() {
                    out.push((lo + (at as f64 + 0.5) * width, m));
                }
                current = Some((bucket, v));
            }
        }
    }
    if let Some((at, m)) = current {
        out.push((lo + (at as f64 + 0.5) * width, m));
    }
    out
}

/// The counts chart, or None when no build has a start time.
pub fn counts(builds: &[BuildRow]) -> Option<String> {
    let t = timed(builds);
    if t.is_empty() {
        return None;
    }
    let (lo, hi) = x_range(&t);
    let pts = points(&t, lo, hi);
    let top = pts
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(56)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0u64..top + top / 10 + 1)
            .ok()?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|x| label(&t, *x))
            .x_desc("start time (labelled with the nearest build's kernel release)")
            .y_desc("count")
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .ok()?;
        for (i, &(name, _, color, width, dots)) in SERIES.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|(x, v)| (*x, v[i])),
                    color.stroke_width(width),
                ))
                .ok()?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            if pts.len() <= 200 && dots {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|(x, v)| Circle::new((*x, v[i]), 3, color.filled())),
                    )
                    .ok()?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

/// The status lanes, bottom to top.
pub const LANES: [&str; 4] = ["PASS", "FAIL", "ERROR", "other"];

fn lane(status: Option<&str>) -> usize {
    match status {
        Some("PASS") => 0,
        Some("FAIL") => 1,
        Some("ERROR") => 2,
        _ => 3,
    }
}

/// The status timeline, or None when no build has a start time.
pub fn statuses(builds: &[BuildRow]) -> Option<String> {
    let t = timed(builds);
    if t.is_empty() {
        return None;
    }
    let (lo, hi) = x_range(&t);
    let width = (hi - lo) / MAX_COLUMNS as f64;
    // which (column, lane) have a build
    let mut marks = std::collections::BTreeSet::new();
    for (x, b) in &t {
        let col = (((x - lo) / width) as usize).min(MAX_COLUMNS - 1);
        marks.insert((col, lane(b.rec.status.as_deref())));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 170)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(56)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, (0..LANES.len() as i32).into_segmented())
            .ok()?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| label(&t, *x))
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => LANES.get(*i as usize).unwrap_or(&"").to_string(),
                _ => String::new(),
            })
            .draw()
            .ok()?;
        let colors = [PASS, ERR, WARN, OTHER];
        // at least 3 px wide, wherever the columns are narrower
        let min_width = (hi - lo) * 3.0 / WIDTH as f64;
        let w = width.max(min_width);
        chart
            .draw_series(marks.iter().map(|&(col, l)| {
                let x0 = lo + col as f64 * width;
                Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(l as i32)),
                        (x0 + w, SegmentValue::Exact(l as i32 + 1)),
                    ],
                    colors[l].filled(),
                )
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
