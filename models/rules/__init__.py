"""The rules writer and reader both apply, written once: catalog availability, the deny list,
ranking steps, loyalty tiers, repurchase rhythms, and the words answers use."""
