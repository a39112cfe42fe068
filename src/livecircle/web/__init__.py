"""Composite HTML pages (home, live room, host console, sign-in), the room
socket admission, templates, static files and translations."""
