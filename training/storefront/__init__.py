"""What the personal store and the marketers need, computed once per version: customer
profiles and loyalty tiers, micro-segments and their offers, similar items, trending items."""
