"""Rendering: box tables for people, JSON / CSV / Markdown for pipelines. No numerics here."""
