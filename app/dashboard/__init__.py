"""The browser dashboard: static pages and assets served by the API process, plus the bulk JSON they read."""
