//! The scopes a vendor's API client can hold, and what each opens.

/// Every scope a vendor's client can hold.
pub const SCOPES: &[&str] = &[
    "partners:read",
    "partners:write",
    "campaigns:read",
    "campaigns:write",
    "assets:read",
    "assets:write",
    "prices:read",
    "prices:write",
    "leads:write",
    "deals:read",
    "deals:write",
    "webhooks:read",
    "webhooks:write",
];

/// What a scope lets a client do, for the API reference.
pub fn scope_description(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "partners:read" => "List the linked partners.",
        "partners:write" => "Set a linked partner's tier.",
        "campaigns:read" => "Read campaigns and their activation counts.",
        "campaigns:write" => "Publish and archive campaigns.",
        "assets:read" => "Read marketing assets.",
        "assets:write" => "Publish and delete marketing assets.",
        "prices:read" => "Read price lists and their items.",
        "prices:write" => "Publish price lists and replace their items.",
        "leads:write" => "Send leads to linked partners.",
        "deals:read" => "Read the deal registrations partners submitted.",
        "deals:write" => "Approve or reject deal registrations.",
        "webhooks:read" => "Read the webhook subscription and its deliveries.",
        "webhooks:write" => "Subscribe to webhooks, rotate the secret, redeliver.",
        _ => return None,
    })
}
