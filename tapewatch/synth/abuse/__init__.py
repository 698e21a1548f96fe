"""Abuse typologies, one module each, and the planner that spreads episodes over the day."""
