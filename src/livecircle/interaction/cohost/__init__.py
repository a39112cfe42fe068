"""The co-host (连麦) queue: viewers apply, the host invites, accepts, rejects or removes;
priority by member tier with ageing, a per-user cooldown, and leaving the room drops out."""
