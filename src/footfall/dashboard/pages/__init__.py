"""One module per dashboard page; each exports `routes`."""
