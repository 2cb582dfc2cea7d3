"""labtool: the NodePort workshop lab in one command."""
