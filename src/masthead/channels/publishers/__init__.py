"""Publishers, one module each, registered through the `masthead.publishers` entry-point group."""
