home-title = { $workspace }: today across your vendors
home-actions = Needs action
home-actions-none = Nothing needs your action right now.
home-action-campaign = New campaign: { $name }
home-action-connection-failing = Connection failing: { $name }
home-vendors = Your vendors
home-new-leads = New leads
home-pending-deals = Registrations pending
home-approved-deals = Registrations approved
home-chart-pipeline = Registered pipeline by vendor
home-chart-margin = Average margin by vendor
home-chart-campaigns = Leads per campaign, by week
home-chart-empty = No figures yet.
due = due { $when }
campaign = Campaign
lead = Lead
deal = Deal
connection = Connection
tier = Tier
tier-registered = Registered
tier-silver = Silver
tier-gold = Gold
tier-platinum = Platinum
home-chart-margin-pending = No margins yet: prices are being calculated, or no vendor has sent a price list.
home-ends = ends { $when }
home-deadlines = Deadlines, soonest first
home-news = New, without a deadline
home-due-lead-answer = answer by { $when }
home-due-decision-awaited = decision due { $when }
home-due-protection-ends = protection ends { $when }
home-due-reauthorize = log in again now
home-due-delivery-refused = not taken { $when }
home-more = { $count ->
    [one] One more deadline
   *[other] { $count } more deadlines
}
home-more-kind = { $kind } ({ $count })
