"""One module per ``nnrun`` sub-command; ``app.py`` registers them."""
