"""The resident's H5 pages and the counter page (HTML, not in the OpenAPI document):
`routes.py` renders `app/templates/h5/…` with the zh/en catalogue and sets the pages' headers.
The pages call the JSON API from the browser; no page handler reads the database.

    @blp.get("/h5/<page>")  →  _render("h5/page.html", page, *RESIDENT_PAGES[page])
"""
