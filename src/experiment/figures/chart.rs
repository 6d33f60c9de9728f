//! Line charts as SVG and PNG (plotters): the drawing under [`super`]'s figures, with no
//! knowledge of experiments. Text needs a TrueType font: `$ATLOP_FONT`, else DejaVu Sans or
//! Liberation Sans from the usual Debian folders (`fonts-dejavu-core`).

use crate::plot_range::padded_range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{AtlopError, Result};

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart's texts and, for categorical x axes, the names of the x positions 0, 1, ...
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_names: Vec<String>,
    pub series: Vec<Series>,
}

const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a TrueType font for plotters once per process; the error says where it looked.
pub fn ensure_font() -> std::result::Result<(), String> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let candidates: Vec<PathBuf> = std::env::var_os("ATLOP_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
            .collect();
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "no TrueType font found (looked at $ATLOP_FONT and {}); install fonts-dejavu-core",
                FONT_CANDIDATES.join(", ")
            ));
        };
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // plotters keeps fonts for the life of the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font("sans-serif", style, bytes)
                .map_err(|_| format!("{}: not a usable TrueType font", path.display()))?;
        }
        Ok(())
    })
    .clone()
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> AtlopError {
    AtlopError::Invalid(format!("{}: cannot draw the figure: {e}", path.display()))
}

/// Draws `charts` side by side into `<stem>.svg` and `<stem>.png`.
pub fn draw(stem: &Path, charts: &[Chart]) -> Result<Vec<PathBuf>> {
    ensure_font().map_err(|e| plot_error(stem, e))?;
    let width = 640 * charts.len().max(1) as u32;
    let (svg, png) = (stem.with_extension("svg"), stem.with_extension("png"));
    {
        let root = SVGBackend::new(&svg, (width, 440)).into_drawing_area();
        draw_on(&root, charts).map_err(|e| plot_error(&svg, e))?;
        root.present().map_err(|e| plot_error(&svg, e))?;
    }
    {
        let root = BitMapBackend::new(&png, (width, 440)).into_drawing_area();
        draw_on(&root, charts).map_err(|e| plot_error(&png, e))?;
        root.present().map_err(|e| plot_error(&png, e))?;
    }
    Ok(vec![svg, png])
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, charts: &[Chart]) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, charts.len().max(1)));
    for (area, chart) in panels.iter().zip(charts) {
        draw_chart(area, chart)?;
    }
    Ok(())
}

/// Series named per legend row, and the height of a row (pixels).
const LEGEND_PER_ROW: usize = 2;
const LEGEND_ROW: i32 = 20;

/// A chart with its legend in a strip below the plot, so the legend never covers data.
fn draw_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let rows = chart.series.len().div_ceil(LEGEND_PER_ROW) as i32;
    let legend_height = if rows == 0 { 0 } else { rows * LEGEND_ROW + 8 };
    let height = area.dim_in_pixel().1 as i32;
    let (plot, legend) = area.split_vertically(height - legend_height);
    draw_plot(&plot, chart)?;
    draw_legend(&legend, chart)
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let width = area.dim_in_pixel().0 as i32;
    let column = (width - 80) / LEGEND_PER_ROW as i32;
    for (i, series) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let x = 68 + (i % LEGEND_PER_ROW) as i32 * column;
        let y = (i / LEGEND_PER_ROW) as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        area.draw(&PathElement::new(
            vec![(x, y), (x + 18, y)],
            color.stroke_width(2),
        ))?;
        area.draw(&Circle::new((x + 9, y), 3, color.filled()))?;
        area.draw(&Text::new(
            series.label.clone(),
            (x + 24, y - 7),
            ("sans-serif", 13).into_font(),
        ))?;
    }
    Ok(())
}

fn draw_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = if chart.x_names.is_empty() {
        // Epochs: whole numbers, so one epoch still spans a readable axis.
        padded_range(points().map(|p| p.0), 0.08, 0.5)
    } else {
        (-0.3, chart.x_names.len() as f64 - 0.7)
    };
    let (y0, y1) = padded_range(points().map(|p| p.1), 0.08, 0.01);
    let mut ctx = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let names = chart.x_names.clone();
    let mut mesh = ctx.configure_mesh();
    mesh.x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(("sans-serif", 13));
    let name_of = move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let whole = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{}", x.round())
        } else {
            String::new()
        }
    };
    if chart.x_names.is_empty() {
        mesh.x_label_formatter(&whole);
    } else {
        mesh.x_labels(chart.x_names.len() * 4 + 1)
            .x_label_formatter(&name_of);
    }
    mesh.draw()?;
    for (i, series) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        ctx.draw_series(LineSeries::new(
            series.points.clone(),
            color.stroke_width(2),
        ))?;
        ctx.draw_series(
            series
                .points
                .iter()
                .map(|&p| Circle::new(p, 3, color.filled())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_drawn_as_svg_and_png_with_its_texts() {
        if let Err(why) = ensure_font() {
            eprintln!("skipping: {why}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let chart = Chart {
            title: "Dev F1 by number of entities".into(),
            x_label: "entities".into(),
            y_label: "F1".into(),
            x_names: vec!["1-5".into(), "6-10".into(), "26+".into()],
            series: vec![
                Series {
                    label: "ATLOP".into(),
                    points: vec![(0.0, 60.0), (1.0, 58.0), (2.0, 50.0)],
                },
                Series {
                    label: "- LOP".into(),
                    points: vec![(0.0, 61.0), (1.0, 56.0), (2.0, 45.0)],
                },
            ],
        };
        let files = draw(&dir.path().join("fig"), &[chart]).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        for text in [
            "Dev F1 by number of entities",
            "ATLOP",
            "- LOP",
            "6-10",
            "26+",
        ] {
            assert!(svg.contains(text), "{text} not in the SVG");
        }
        // The legend is below the plot (under the x axis' description), never over the data.
        let y_of = |text: &str| -> f64 {
            let element = svg
                .split("<text ")
                .skip(1)
                .find(|e| {
                    e.split_once('>').is_some_and(|(_, body)| {
                        body.trim_start().starts_with(&format!("{text}\n</text>"))
                    })
                })
                .expect(text);
            let y = element.split(" y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(
            y_of("ATLOP") > y_of("entities"),
            "the legend overlaps the plot"
        );
        assert!(
            y_of("- LOP") > y_of("entities"),
            "the legend overlaps the plot"
        );
        let png = std::fs::read(&files[1]).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 5_000, "a near-empty PNG: {} bytes", png.len());
    }
}
