"""The ``swirl`` command line: a thin shell that parses, validates and calls one library function."""
