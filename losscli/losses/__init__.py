"""Loss implementations: forward, gradient, input generator and spec side by side."""
