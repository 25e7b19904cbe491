"""Shipping: the recommendation (which precision, per provider) and Foundry Local packages of the variants."""
