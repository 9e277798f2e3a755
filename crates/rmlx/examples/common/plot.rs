//! The examples' loss-curve PNG (plotters, with the font shipped in `examples/data/`).

use rmlx::core as mx;
use std::path::Path;

/// One curve: its values by step, its colour and its legend.
pub struct Curve<'a> {
    pub values: &'a [f32],
    pub color: plotters::style::RGBColor,
    pub name: &'a str,
}

/// Draws `curves` against the step into a 900×540 PNG at `path`. The picture is written to a
/// temporary name and renamed, so a failed plot never leaves half a file behind.
pub fn loss_curves(path: &Path, caption: &str, curves: &[Curve]) -> mx::Result<()> {
    use plotters::prelude::*;
    let fail = |e: String| mx::Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    };
    static FONT: &[u8] = include_bytes!("../data/DejaVuSans.ttf");
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| fail("cannot load the plot font".into()))?;
    let all = || curves.iter().flat_map(|c| c.values.iter().copied());
    let ymax = all().fold(0.0f32, f32::max) * 1.05;
    let ymin = all().fold(f32::INFINITY, f32::min).min(ymax) * 0.95;
    let steps = curves.iter().map(|c| c.values.len()).max().unwrap_or(0);
    let tmp = path.with_extension("partial.png");
    {
        let root = BitMapBackend::new(&tmp, (900, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0..steps, ymin..ymax)
            .map_err(|e| fail(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("training loss (cross-entropy)")
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        for c in curves {
            let color = c.color;
            chart
                .draw_series(LineSeries::new(
                    c.values.iter().enumerate().map(|(i, &l)| (i, l)),
                    color.stroke_width(2),
                ))
                .map_err(|e| fail(e.to_string()))?
                .label(c.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|source| mx::Error::Io {
        path: path.display().to_string(),
        source,
    })
}
