connections-none = No connections yet.
connection-source = { $vendor }: source
connection-crm = Your CRM
connection-schedule = runs { $schedule }
connection-sync-now = Sync now
connection-authorize = Connect with the provider
connection-authorized = The connection is authorized.
connection-progress = Progress
connection-history = Latest runs
connection-status-active = Working
connection-status-paused = Paused
connection-status-reauthorize = Needs you to log in again
connection-status-failing = Failing
run-waiting = Waiting for a worker…
run-running = running
run-succeeded = Done
run-failed = Failed
run-interrupted = Interrupted
run-summary = { $read } read, { $created } new, { $updated } updated, { $failed } failed
notifications-none = No notifications.
notification-unread = Unread
notification-read = Read
notification-new-lead = New lead: { $name }
notification-leads-synced = { $count ->
    [one] 1 new lead from { $connection }
   *[other] { $count } new leads from { $connection }
}
notification-new-campaign = New campaign: { $name }
notification-deal-decided = { $status ->
    [approved] Deal approved: { $title }
   *[other] Deal rejected: { $title }
}
notification-deal-expiring = Protection ends soon: { $title }
notification-connection-attention = { $status ->
    [needs-reauthorization] A connection needs to be authorized again
   *[other] A connection is failing
}
notification-delivery-refused = { $kind ->
    [lead-answer] { $status ->
        [refused] The vendor refused your answer to a lead
       *[other] Your answer to a lead could not be sent to the vendor
    }
   *[other] { $status ->
        [refused] The vendor refused your deal registration
       *[other] Your deal registration could not be sent to the vendor
    }
}
schedule-every-minute = every minute
schedule-every-minutes = every { $minutes } minutes
schedule-hourly = hourly
schedule-every-hours = every { $hours } hours
schedule-daily = daily at { $time } UTC
connect-title = Add a connection
connect-intro = Connect a vendor's own system to bring its leads, campaigns and prices in, or your CRM to send leads and registrations out. Secrets are checked, stored sealed and never shown again.
connect-add = Add a connection
connect-kind-rest = A vendor's system (REST API)
connect-kind-rest-text = Pull leads, campaigns, assets and prices from a vendor's API, described by a manifest; registrations and lead answers go back through its actions.
connect-kind-aws-partner-central = AWS Partner Central
connect-kind-aws-partner-central-text = Opportunities, referrals and benefits from AWS Partner Central, signed with your AWS access key.
connect-kind-hubspot = HubSpot
connect-kind-hubspot-text = Send leads and registered deals to your HubSpot account. You log in to HubSpot next.
connect-kind-salesforce = Salesforce
connect-kind-salesforce-text = Send leads and registered deals to your Salesforce org. You log in to Salesforce next.
connect-kind-webhook = A webhook to your CRM
connect-kind-webhook-text = Post leads and registered deals, signed, to an address of your own.
connect-name = Name
connect-name-hint = What you call it, for example "Canon partner portal".
connect-choose-vendor = Choose the vendor
connect-manifest = Manifest (JSON)
connect-manifest-hint = Paste the manifest: its base address, streams, pagination and field mapping. It is checked before anything is saved.
connect-auth = How the vendor's API knows you
connect-auth-none = No credentials
connect-auth-api_key = An API key
connect-auth-bearer = A bearer token
connect-auth-basic = A user name and password
connect-secrets-hint = Fill in only the fields of the way you chose.
connect-key-name = Key's header or parameter name
connect-key-value = Key
connect-token = Token
connect-username = User name
connect-password = Password
connect-aws-key-id = Access key ID
connect-aws-key-hint = Of an IAM user allowed to use Partner Central's Selling API.
connect-aws-secret = Secret access key
connect-aws-region = Region
connect-aws-catalog = Catalog
connect-aws-catalog-hint = AWS for live data, Sandbox for testing.
connect-aws-endpoint = Endpoint
connect-advanced = Advanced
connect-advanced-hint = Leave as it is unless your provider tells you otherwise.
connect-client-id = Client ID of your app
connect-client-secret = Client secret of your app
connect-oauth-hint = From the app you made in the provider's developer settings.
connect-base-url-hubspot = API address
connect-base-url-salesforce = Your instance's address (optional: known after login)
connect-auth-url = Authorization address
connect-token-url = Token address
connect-scopes = Scopes
connect-webhook-url = Address
connect-webhook-hint = Where leads and deals are posted. Each request is signed with a secret shown once after saving.
connect-schedule = When it runs
connect-schedule-default-source = Every 15 minutes (default)
connect-schedule-default-sink = Every minute (default)
connect-schedule-every-minute = Every minute
connect-schedule-every-15-minutes = Every 15 minutes
connect-schedule-hourly = Hourly
connect-schedule-daily = Daily at
connect-schedule-cron = Advanced: a cron expression
connect-daily-at = Time of day (UTC)
connect-cron = Cron expression
connect-cron-hint = Five fields, or six with seconds first, in UTC.
connect-submit = Check and save
connect-submit-oauth = Save and log in
connect-required = Fill this in.
connect-bad-url = An address starting with https:// (or http://).
connect-bad-time = A time such as 06:30.
connect-bad-json = The manifest is not JSON: { $error }
connect-fix-fields = Some fields need a correction: see below.
connect-made = "{ $name }" is connected.
connect-secret-title = Your webhook's signing secret
connect-secret-text = Each request to your address carries an Onepane-Signature header made with this secret. Copy it now into your receiver: it is not shown again.
connect-secret-label = Signing secret
connect-secret-done = Done
connection-created = The connection is saved. It runs on its schedule, or now with Sync now.
connection-pause = Pause
connection-resume = Resume
connection-paused = The connection is paused: nothing runs until you resume it.
connection-resumed = The connection is running again on its schedule.
connection-delete = Delete
connection-delete-explained = Its credentials, schedule and run history are deleted with it. What it brought in (leads, campaigns, prices) stays yours, and a new connection to the same vendor updates those records instead of copying them.
connection-delete-confirm = Delete "{ $connection }" for good
connection-deleted = The connection is deleted. What it brought in stays.
connection-delete-running = A sync of this connection is running. Pause the connection, and delete it when the run has ended.
connection-delete-unconfirmed = Tick the box to confirm the deletion.
