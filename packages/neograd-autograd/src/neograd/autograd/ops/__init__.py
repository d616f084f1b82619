"""The built-in differentiable operations, grouped by kind."""
