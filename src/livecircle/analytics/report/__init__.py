"""Post-show review reports (复盘报告): built from the event replica by a durable job when a
show ends, stored with their HTML and PDF, served as a page, a PDF, JSON and CSV; and the
show's targets that the report compares against. ``build_report`` makes the data,
``render_html`` and ``render_pdf`` the documents."""
