"""One module per output. Writers take rendered documents and never reach back into parsing."""
