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
