connections-none = Ei vielä yhteyksiä.
connection-source = { $vendor }: lähde
connection-crm = CRM-järjestelmäsi
connection-schedule = ajetaan: { $schedule }
connection-sync-now = Synkronoi nyt
connection-authorize = Yhdistä palveluntarjoajaan
connection-authorized = Yhteys on valtuutettu.
connection-progress = Edistyminen
connection-history = Viimeisimmät ajot
connection-status-active = Toimii
connection-status-paused = Keskeytetty
connection-status-reauthorize = Vaatii uuden kirjautumisen
connection-status-failing = Ei toimi
run-waiting = Odotetaan työntekijää…
run-running = käynnissä
run-succeeded = Valmis
run-failed = Epäonnistui
run-interrupted = Keskeytyi
run-summary = { $read } luettu, { $created } uutta, { $updated } päivitetty, { $failed } epäonnistui
notifications-none = Ei ilmoituksia.
notification-unread = Lukematon
notification-read = Luettu
notification-new-lead = Uusi liidi: { $name }
notification-leads-synced = { $count ->
    [one] 1 uusi liidi yhteydestä { $connection }
   *[other] { $count } uutta liidiä yhteydestä { $connection }
}
notification-new-campaign = Uusi kampanja: { $name }
notification-deal-decided = { $status ->
    [approved] Kauppailmoitus hyväksytty: { $title }
   *[other] Kauppailmoitus hylätty: { $title }
}
notification-deal-expiring = Suoja päättyy pian: { $title }
notification-connection-attention = { $status ->
    [needs-reauthorization] Yhteys on valtuutettava uudelleen
   *[other] Yhteys ei toimi
}
notification-delivery-refused = { $kind ->
    [lead-answer] { $status ->
        [refused] Toimittaja hylkäsi vastauksesi liidiin
       *[other] Vastaustasi liidiin ei voitu lähettää toimittajalle
    }
   *[other] { $status ->
        [refused] Toimittaja hylkäsi kaupan rekisteröintisi
       *[other] Kaupan rekisteröintiäsi ei voitu lähettää toimittajalle
    }
}
schedule-every-minute = minuutin välein
schedule-every-minutes = { $minutes } minuutin välein
schedule-hourly = tunnin välein
schedule-every-hours = { $hours } tunnin välein
schedule-daily = päivittäin klo { $time } UTC
