"""Margin losses (issue 6): hinge, squared hinge and the cosine-embedding loss."""

SPECS = ()
