# The clock told by mail: members' choices in Settings, the digest and
# urgent-lead mail, and the unsubscribe page.
settings-mail = Mail about deadlines
settings-mail-hint = Onepane can tell you by mail what falls due before it passes. Choose what you want; each mail has a link that stops it.
mail-daily-digest = A daily digest: what falls due in the next 7 days and what was missed, each morning from { $hour }:00 your time
mail-urgent-leads = Mail at once when a vendor sends a lead to answer within 48 hours
mail-time-zone = Your time zone
mail-time-zone-hint = As the IANA database names it, such as Europe/Helsinki. Mail tells times in it.
mail-time-zone-invalid = “{ $zone }” is not a time zone we know. Write it as the IANA database names it, such as Europe/Helsinki or America/New_York.
mail-saved = Your mail choices are saved.
mail-digest-subject = Onepane: what falls due, { $date }
mail-digest-intro = What falls due in { $workspace }, as of { $date }.
mail-digest-missed = Missed since your last digest:
mail-digest-coming = Due in the next 7 days:
mail-digest-older = { $count ->
    [one] One older deadline is still overdue: { $link }
   *[other] { $count } older deadlines are still overdue: { $link }
}
mail-times-in = Times are in the { $zone } time zone.
mail-digest-why = You get this mail once a day because you chose the daily digest in Onepane. To stop it, open { $link }
mail-urgent-subject = Onepane: answer a lead by { $when } ({ $zone })
mail-urgent-intro = { $vendor } sent { $workspace } a lead to answer by { $when } ({ $zone } time):
mail-urgent-why = You get this mail because you chose mail about urgent leads in Onepane. To stop it, open { $link }
mail-settings-link = Choose what mail you get: { $link }
unsubscribe-title = Stop this mail
unsubscribe-ask-digest = Stop the daily digest of deadlines for { $email }?
unsubscribe-ask-urgent-lead = Stop mail about urgent leads for { $email }?
unsubscribe-ask-unknown-member = Stop this mail?
unsubscribe-submit = Stop this mail
unsubscribe-done-digest = The daily digest is off. You can turn it on again in Onepane's settings.
unsubscribe-done-urgent-lead = Mail about urgent leads is off. You can turn it on again in Onepane's settings.
unsubscribe-malformed = This is not an unsubscribe link. Copy the whole link from the mail, or choose what mail you get in Onepane's settings.
unsubscribe-forged = This unsubscribe link is not valid: it was not made by this Onepane, or it was changed. Use the link from the mail, or choose what mail you get in Onepane's settings.
