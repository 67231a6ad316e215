"""The PDF's print page and its bookmark reader, on small hand-made files."""
from deepenough.machinery import pdf

PAGE = ('<html><head><link rel="stylesheet" href="../_static/a.css"></head><body><nav>menu</nav>'
        '<article><h1>{title}</h1><img src="../_images/f.png"></article></body></html>')


def test_the_print_page_holds_every_article_in_order_with_the_first_head(tmp_path):
    (tmp_path / "book").mkdir()
    for name, title in (("a", "First"), ("b", "Second")):
        (tmp_path / "book" / f"{name}.html").write_text(PAGE.format(title=title))
    html = pdf.print_page(tmp_path, ["book/a.html", "book/b.html"])
    assert html.index("First") < html.index("Second") and html.count('<section class="printed">') == 2
    assert "../_static/a.css" in html and "../_images/f.png" in html and "menu" not in html


def test_outline_titles_reads_literal_and_utf16_strings():
    data = b"<< /Title (Deep Enough\\?) >> << /Title <FEFF004D00FC> >> << /Title (a \\(b\\)) >>"
    assert pdf.outline_titles(data) == ["Deep Enough?", "Mü", "a (b)"]
