//! Page composition: text that wraps, tables whose header repeats on every
//! page, a QR code with its quiet zone, boxes and lines, the copy mark and
//! the practice watermark, in two page sizes (A4 and an 80 mm roll).
//!
//! Everything is placed from the top of the page in points and turned into
//! printpdf operations at the end, so a roll's page is exactly as long as
//! its content. This module knows nothing of cases or decisions.

use printpdf::{
    Color, Greyscale, Line, LinePoint, Mm, Op, PaintMode, PdfFontHandle, PdfPage, Point, Pt, Rect,
    TextItem, TextMatrix, WindingOrder,
};

use super::fonts::DocumentFont;
use super::Layout;

const MM: f32 = 72.0 / 25.4;

/// One thing drawn on a page, placed from the top left in points.
#[derive(Debug, Clone)]
enum Element {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
        grey: f32,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Block {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        grey: f32,
    },
    Frame {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    Rotated {
        x: f32,
        y: f32,
        size: f32,
        angle: f32,
        text: String,
        grey: f32,
    },
}

/// Text alignment in a cell or line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
    Right,
}

/// One table column: heading, share of the width, alignment.
pub struct Column<'a> {
    pub heading: &'a str,
    pub share: f32,
    pub align: Align,
}

/// The page sizes and type sizes of a layout.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    pub page_width: f32,
    /// The A4 page height; for the roll, the longest page before a break.
    pub page_height: f32,
    pub margin: f32,
    pub body: f32,
    pub small: f32,
    pub title: f32,
}

impl Metrics {
    pub fn of(layout: Layout) -> Self {
        match layout {
            Layout::A4 => Metrics {
                page_width: 210.0 * MM,
                page_height: 297.0 * MM,
                margin: 18.0 * MM,
                body: 10.5,
                small: 8.5,
                title: 18.0,
            },
            Layout::Roll80 => Metrics {
                page_width: 80.0 * MM,
                page_height: 3000.0 * MM,
                margin: 4.0 * MM,
                body: 8.5,
                small: 7.0,
                title: 13.0,
            },
        }
    }
}

/// Lays a document out page by page.
pub struct Composer<'f> {
    font: &'f DocumentFont,
    pub layout: Layout,
    pub metrics: Metrics,
    pages: Vec<Vec<Element>>,
    /// The next free line's top, in points from the top of the page.
    pub y: f32,
    /// Repeated at the top of each new page (e.g. the document number).
    running_head: Option<String>,
}

impl<'f> Composer<'f> {
    pub fn new(font: &'f DocumentFont, layout: Layout) -> Self {
        let metrics = Metrics::of(layout);
        Composer {
            font,
            layout,
            metrics,
            pages: vec![Vec::new()],
            y: metrics.margin,
            running_head: None,
        }
    }

    pub fn font(&self) -> &DocumentFont {
        self.font
    }

    /// The usable width between the margins.
    pub fn width(&self) -> f32 {
        self.metrics.page_width - 2.0 * self.metrics.margin
    }

    fn bottom(&self) -> f32 {
        self.metrics.page_height - self.metrics.margin - self.metrics.small * 2.0
    }

    fn push(&mut self, element: Element) {
        self.pages
            .last_mut()
            .expect("there is always a page")
            .push(element);
    }

    /// Sets the line repeated at the top of every following page.
    pub fn running_head(&mut self, text: &str) {
        self.running_head = Some(self.font.printable(text));
    }

    /// Starts a new page (with the running head).
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.metrics.margin;
        if let Some(head) = self.running_head.clone() {
            let size = self.metrics.small;
            self.push(Element::Text {
                x: self.metrics.margin,
                baseline: self.y + size,
                size,
                text: head,
                grey: 0.35,
            });
            self.y += size * 2.0;
        }
    }

    /// Makes room for `height` points, starting a new page if needed.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > self.bottom() {
            self.new_page();
            true
        } else {
            false
        }
    }

    pub fn space(&mut self, points: f32) {
        self.y += points;
    }

    /// Splits `text` into lines no wider than `width` at `size` (Chinese
    /// breaks anywhere; Latin words stay whole where they fit).
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let text = self.font.printable(text);
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_width = 0.0;
        for character in text.chars() {
            let advance = self.font.char_width(character, size);
            // Closing punctuation never starts a line (it hangs instead).
            let closing = "，。、；：！？）》」』”’,.;:!?)".contains(character);
            if !line.is_empty() && line_width + advance > width && !closing {
                // Keep a Latin word together when the line has a break point.
                let break_at = if character.is_ascii_alphanumeric() {
                    line.rfind(' ').filter(|position| *position > 0)
                } else {
                    None
                };
                match break_at {
                    Some(position) => {
                        let rest = line[position + 1..].to_owned();
                        line.truncate(position);
                        lines.push(std::mem::replace(&mut line, rest));
                    }
                    None => lines.push(std::mem::take(&mut line)),
                }
                line_width = self.font.width(&line, size);
                if line.is_empty() && character == ' ' {
                    continue;
                }
            }
            line.push(character);
            line_width += advance;
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    fn line_height(size: f32) -> f32 {
        size * 1.45
    }

    /// A line of text at `x` (relative to the left margin) in the current line.
    fn put(&mut self, x: f32, size: f32, text: &str, align: Align, width: f32, grey: f32) {
        let text = self.font.printable(text);
        let text_width = self.font.width(&text, size);
        let left = self.metrics.margin
            + x
            + match align {
                Align::Left => 0.0,
                Align::Centre => ((width - text_width) / 2.0).max(0.0),
                Align::Right => (width - text_width).max(0.0),
            };
        let baseline = self.y + size * 1.1;
        self.push(Element::Text {
            x: left,
            baseline,
            size,
            text,
            grey,
        });
    }

    /// A paragraph that wraps within the margins (`indent` from the left).
    pub fn paragraph(&mut self, text: &str, size: f32, indent: f32) {
        let width = self.width() - indent;
        for line in self.wrap(text, size, width) {
            self.ensure(Self::line_height(size));
            self.put(indent, size, &line, Align::Left, width, 0.0);
            self.y += Self::line_height(size);
        }
    }

    /// One line, aligned across the full width.
    pub fn line(&mut self, text: &str, size: f32, align: Align) {
        self.ensure(Self::line_height(size));
        let width = self.width();
        for line in self.wrap(text, size, width) {
            self.put(0.0, size, &line, align, width, 0.0);
            self.y += Self::line_height(size);
        }
    }

    /// A title, centred.
    pub fn title(&mut self, text: &str) {
        let size = self.metrics.title;
        self.line(text, size, Align::Centre);
        self.y += size * 0.3;
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        let size = self.metrics.body * 1.1;
        self.ensure(Self::line_height(size) * 3.0);
        self.y += size * 0.4;
        self.line(text, size, Align::Left);
    }

    /// "label：value" lines; the value wraps under itself.
    pub fn field(&mut self, label: &str, value: &str) {
        let size = self.metrics.body;
        let label = format!("{label}：");
        let label_width = self.font.width(&self.font.printable(&label), size);
        if label_width > self.width() * 0.4 {
            // A long label gets its own line; the value follows, indented.
            self.paragraph(&label, size, 0.0);
            self.paragraph(value, size, size * 2.0);
            return;
        }
        let value_width = self.width() - label_width;
        let lines = self.wrap(value, size, value_width);
        for (index, line) in lines.iter().enumerate() {
            self.ensure(Self::line_height(size));
            if index == 0 {
                self.put(0.0, size, &label, Align::Left, label_width, 0.0);
            }
            self.put(label_width, size, line, Align::Left, value_width, 0.0);
            self.y += Self::line_height(size);
        }
    }

    /// A horizontal rule across the width.
    pub fn rule(&mut self) {
        let (left, right) = (
            self.metrics.margin,
            self.metrics.page_width - self.metrics.margin,
        );
        self.y += 2.0;
        self.push(Element::Rule {
            x1: left,
            y1: self.y,
            x2: right,
            y2: self.y,
            width: 0.6,
        });
        self.y += 4.0;
    }

    /// A table; the header is drawn again at the top of every page the
    /// table continues on.
    pub fn table(&mut self, columns: &[Column], rows: &[Vec<String>]) {
        let size = self.metrics.small.max(self.metrics.body - 1.5);
        let total: f32 = columns.iter().map(|column| column.share).sum();
        let widths: Vec<f32> = columns
            .iter()
            .map(|column| self.width() * column.share / total)
            .collect();
        let padding = 2.5;
        let line_height = Self::line_height(size);
        let header: Vec<String> = columns
            .iter()
            .map(|column| column.heading.to_owned())
            .collect();
        let header_height = self.row_height(&header, &widths, size, padding);
        self.ensure(header_height + line_height * 2.0 + padding * 2.0);
        self.table_row(&header, &widths, columns, size, padding, true);
        for row in rows {
            let height = self.row_height(row, &widths, size, padding);
            if self.ensure(height) {
                self.table_row(&header, &widths, columns, size, padding, true);
            }
            self.table_row(row, &widths, columns, size, padding, false);
        }
        self.y += 4.0;
    }

    fn row_height(&self, cells: &[String], widths: &[f32], size: f32, padding: f32) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| self.wrap(cell, size, width - 2.0 * padding).len())
            .max()
            .unwrap_or(1);
        lines as f32 * Self::line_height(size) + 2.0 * padding
    }

    fn table_row(
        &mut self,
        cells: &[String],
        widths: &[f32],
        columns: &[Column],
        size: f32,
        padding: f32,
        header: bool,
    ) {
        let height = self.row_height(cells, widths, size, padding);
        let top = self.y;
        let mut x = 0.0;
        if header {
            self.push(Element::Block {
                x: self.metrics.margin,
                y: top,
                width: self.width(),
                height,
                grey: 0.9,
            });
        }
        for ((cell, width), column) in cells.iter().zip(widths).zip(columns) {
            let lines = self.wrap(cell, size, width - 2.0 * padding);
            self.y = top + padding;
            for line in lines {
                let align = if header { Align::Centre } else { column.align };
                self.put(x + padding, size, &line, align, width - 2.0 * padding, 0.0);
                self.y += Self::line_height(size);
            }
            x += width;
        }
        let left = self.metrics.margin;
        self.push(Element::Frame {
            x: left,
            y: top,
            width: self.width(),
            height,
        });
        let mut edge = left;
        for width in &widths[..widths.len().saturating_sub(1)] {
            edge += width;
            self.push(Element::Rule {
                x1: edge,
                y1: top,
                x2: edge,
                y2: top + height,
                width: 0.4,
            });
        }
        self.y = top + height;
    }

    /// A QR code of `content` with its 4-module quiet zone, `side` points
    /// wide including the zone, at `x` from the left margin; returns its
    /// height. The zone is kept free of anything else.
    pub fn qr(&mut self, content: &str, x: f32, side: f32) -> f32 {
        let Ok(code) = qrcode::QrCode::new(content.as_bytes()) else {
            return 0.0;
        };
        let modules = code.width();
        let module = side / (modules + 8) as f32;
        let (left, top) = (
            self.metrics.margin + x + 4.0 * module,
            self.y + 4.0 * module,
        );
        for (index, colour) in code.to_colors().iter().enumerate() {
            if *colour == qrcode::Color::Dark {
                let (column, row) = (index % modules, index / modules);
                self.push(Element::Block {
                    x: left + column as f32 * module,
                    y: top + row as f32 * module,
                    width: module,
                    height: module,
                    grey: 0.0,
                });
            }
        }
        side
    }

    /// A framed box (the seal area) at `x` from the left margin.
    pub fn frame(&mut self, x: f32, width: f32, height: f32, caption: &str) {
        let top = self.y;
        self.push(Element::Frame {
            x: self.metrics.margin + x,
            y: top,
            width,
            height,
        });
        let size = self.metrics.small;
        let saved = self.y;
        self.y = top + height - size * 2.0;
        self.put(x, size, caption, Align::Centre, width, 0.45);
        self.y = saved;
    }

    /// "label：__________" signature lines, side by side.
    pub fn signature_lines(&mut self, labels: &[&str]) {
        let size = self.metrics.body;
        self.ensure(Self::line_height(size) * 2.5);
        self.y += Self::line_height(size);
        let share = self.width() / labels.len().max(1) as f32;
        for (index, label) in labels.iter().enumerate() {
            let x = share * index as f32;
            let text = format!("{label}：");
            let label_width = self.font.width(&self.font.printable(&text), size);
            self.put(x, size, &text, Align::Left, share, 0.0);
            let left = self.metrics.margin + x + label_width;
            let baseline = self.y + size * 1.25;
            self.push(Element::Rule {
                x1: left,
                y1: baseline,
                x2: left + (share - label_width - 8.0).max(20.0),
                y2: baseline,
                width: 0.5,
            });
        }
        self.y += Self::line_height(size) * 1.5;
    }

    /// Every character placed so far, and those `finish` adds (page
    /// numbers, the copy mark, the watermark).
    pub fn characters(&self) -> std::collections::BTreeSet<char> {
        let mut characters: std::collections::BTreeSet<char> =
            "第页共0123456789副本练习—无效/PRACTICEVOID"
                .chars()
                .collect();
        for element in self.pages.iter().flatten() {
            if let Element::Text { text, .. } | Element::Rotated { text, .. } = element {
                characters.extend(text.chars());
            }
        }
        characters
    }

    /// Page count so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Turns the pages into printpdf pages: page numbers, the copy mark
    /// and the practice watermark on every page. A roll's page is cut to
    /// its content.
    pub fn finish(
        mut self,
        font_handle: &PdfFontHandle,
        copy: bool,
        practice: bool,
    ) -> Vec<PdfPage> {
        let count = self.pages.len();
        let metrics = self.metrics;
        let font = self.font;
        let content_bottom = self.y + metrics.margin;
        let mut out = Vec::new();
        for (index, elements) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let height = match self.layout {
                Layout::A4 => metrics.page_height,
                Layout::Roll80 if index + 1 == count => {
                    content_bottom.max(100.0 * MM) + metrics.small * 3.0
                }
                Layout::Roll80 => metrics.page_height,
            };
            let mut elements = elements;
            // Page numbers.
            if count > 1 || self.layout == Layout::A4 {
                let text = font.printable(&format!("第 {} 页 共 {count} 页", index + 1));
                let width = font.width(&text, metrics.small);
                elements.push(Element::Text {
                    x: (metrics.page_width - width) / 2.0,
                    baseline: height - metrics.margin / 2.0,
                    size: metrics.small,
                    text,
                    grey: 0.35,
                });
            }
            if copy {
                let size = metrics.title;
                let text = font.printable("副本");
                let width = font.width(&text, size);
                let x = metrics.page_width - metrics.margin - width - 6.0;
                elements.push(Element::Frame {
                    x: x - 4.0,
                    y: metrics.margin / 2.0 - 2.0,
                    width: width + 8.0,
                    height: size * 1.35,
                });
                elements.push(Element::Text {
                    x,
                    baseline: metrics.margin / 2.0 + size,
                    size,
                    text,
                    grey: 0.0,
                });
            }
            if practice {
                let size = match self.layout {
                    Layout::A4 => 40.0,
                    Layout::Roll80 => 17.0,
                };
                let text = font.printable("练习 — 无效 / PRACTICE — VOID");
                let width = font.width(&text, size);
                let visible = height.min(metrics.page_height);
                let angle: f32 = if self.layout == Layout::A4 {
                    45.0
                } else {
                    60.0
                };
                let radians = angle.to_radians();
                let (centre_x, centre_y) = (metrics.page_width / 2.0, visible / 2.0);
                elements.push(Element::Rotated {
                    x: centre_x - radians.cos() * width / 2.0,
                    y: centre_y + radians.sin() * width / 2.0,
                    size,
                    angle,
                    text,
                    grey: 0.72,
                });
            }
            out.push(PdfPage::new(
                Mm(metrics.page_width / MM),
                Mm(height / MM),
                to_ops(&elements, height, font_handle),
            ));
        }
        out
    }
}

fn grey(value: f32) -> Color {
    Color::Greyscale(Greyscale {
        percent: value,
        icc_profile: None,
    })
}

fn point(x: f32, y: f32) -> LinePoint {
    LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    }
}

fn to_ops(elements: &[Element], height: f32, font: &PdfFontHandle) -> Vec<Op> {
    let mut ops = Vec::new();
    // Watermarks first, so the text stays readable on top of them.
    let mut ordered: Vec<&Element> = elements
        .iter()
        .filter(|e| matches!(e, Element::Rotated { .. }))
        .collect();
    ordered.extend(
        elements
            .iter()
            .filter(|e| !matches!(e, Element::Rotated { .. })),
    );
    for element in ordered {
        match element {
            Element::Text {
                x,
                baseline,
                size,
                text,
                grey: shade,
            } => {
                ops.extend([
                    Op::SetFillColor { col: grey(*shade) },
                    Op::StartTextSection,
                    Op::SetFont {
                        font: font.clone(),
                        size: Pt(*size),
                    },
                    Op::SetTextCursor {
                        pos: Point {
                            x: Pt(*x),
                            y: Pt(height - baseline),
                        },
                    },
                    Op::ShowText {
                        items: vec![TextItem::Text(text.clone())],
                    },
                    Op::EndTextSection,
                ]);
            }
            Element::Rotated {
                x,
                y,
                size,
                angle,
                text,
                grey: shade,
            } => {
                ops.extend([
                    Op::SetFillColor { col: grey(*shade) },
                    Op::StartTextSection,
                    Op::SetFont {
                        font: font.clone(),
                        size: Pt(*size),
                    },
                    Op::SetTextMatrix {
                        matrix: TextMatrix::TranslateRotate(Pt(*x), Pt(height - y), *angle),
                    },
                    Op::ShowText {
                        items: vec![TextItem::Text(text.clone())],
                    },
                    Op::EndTextSection,
                ]);
            }
            Element::Rule {
                x1,
                y1,
                x2,
                y2,
                width,
            } => {
                ops.extend([
                    Op::SetOutlineColor { col: grey(0.0) },
                    Op::SetOutlineThickness { pt: Pt(*width) },
                    Op::DrawLine {
                        line: Line {
                            points: vec![point(*x1, height - y1), point(*x2, height - y2)],
                            is_closed: false,
                        },
                    },
                ]);
            }
            Element::Block {
                x,
                y,
                width,
                height: block,
                grey: shade,
            } => {
                ops.extend([
                    Op::SetFillColor { col: grey(*shade) },
                    Op::DrawRectangle {
                        rectangle: Rect {
                            x: Pt(*x),
                            y: Pt(height - y - block),
                            width: Pt(*width),
                            height: Pt(*block),
                            mode: Some(PaintMode::Fill),
                            winding_order: Some(WindingOrder::NonZero),
                        },
                    },
                ]);
            }
            Element::Frame {
                x,
                y,
                width,
                height: frame,
            } => {
                ops.extend([
                    Op::SetOutlineColor { col: grey(0.0) },
                    Op::SetOutlineThickness { pt: Pt(0.6) },
                    Op::DrawRectangle {
                        rectangle: Rect {
                            x: Pt(*x),
                            y: Pt(height - y - frame),
                            width: Pt(*width),
                            height: Pt(*frame),
                            mode: Some(PaintMode::Stroke),
                            winding_order: Some(WindingOrder::NonZero),
                        },
                    },
                ]);
            }
        }
    }
    ops
}
