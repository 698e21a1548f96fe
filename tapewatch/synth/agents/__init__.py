"""Normal market participants: makers, HFT, noise, momentum, institutions, and market happenings."""
