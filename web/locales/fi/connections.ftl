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
connect-title = Lisää yhteys
connect-intro = Yhdistä toimittajan oma järjestelmä tuodaksesi sen liidit, kampanjat ja hinnat, tai oma CRM:si viedäksesi liidit ja rekisteröinnit sinne. Salaisuudet tarkistetaan, tallennetaan sinetöityinä eikä niitä näytetä enää.
connect-add = Lisää yhteys
connect-kind-rest = Toimittajan järjestelmä (REST-rajapinta)
connect-kind-rest-text = Hae liidit, kampanjat, aineistot ja hinnat toimittajan rajapinnasta manifestin kuvaamalla tavalla; rekisteröinnit ja vastaukset liideihin kulkevat takaisin sen toimintojen kautta.
connect-kind-aws-partner-central = AWS Partner Central
connect-kind-aws-partner-central-text = Mahdollisuudet, suositukset ja etuudet AWS Partner Centralista, allekirjoitettuina AWS-käyttöavaimellasi.
connect-kind-hubspot = HubSpot
connect-kind-hubspot-text = Lähetä liidit ja rekisteröidyt kaupat HubSpot-tilillesi. Kirjaudut seuraavaksi HubSpotiin.
connect-kind-salesforce = Salesforce
connect-kind-salesforce-text = Lähetä liidit ja rekisteröidyt kaupat Salesforce-organisaatioosi. Kirjaudut seuraavaksi Salesforceen.
connect-kind-webhook = Webhook CRM:ääsi
connect-kind-webhook-text = Lähetä liidit ja rekisteröidyt kaupat allekirjoitettuina omaan osoitteeseesi.
connect-name = Nimi
connect-name-hint = Millä nimellä tunnet sen, esimerkiksi "Canonin kumppaniportaali".
connect-choose-vendor = Valitse toimittaja
connect-manifest = Manifesti (JSON)
connect-manifest-hint = Liitä manifesti: sen perusosoite, virrat, sivutus ja kenttien vastaavuudet. Se tarkistetaan ennen kuin mitään tallennetaan.
connect-auth = Miten toimittajan rajapinta tunnistaa teidät
connect-auth-none = Ei tunnuksia
connect-auth-api_key = API-avain
connect-auth-bearer = Bearer-tunniste
connect-auth-basic = Käyttäjätunnus ja salasana
connect-secrets-hint = Täytä vain valitsemasi tavan kentät.
connect-key-name = Avaimen otsakkeen tai parametrin nimi
connect-key-value = Avain
connect-token = Tunniste
connect-username = Käyttäjätunnus
connect-password = Salasana
connect-aws-key-id = Käyttöavaimen tunnus
connect-aws-key-hint = IAM-käyttäjän, jolla on oikeus Partner Centralin Selling API -rajapintaan.
connect-aws-secret = Salainen käyttöavain
connect-aws-region = Alue
connect-aws-catalog = Luettelo
connect-aws-catalog-hint = AWS oikeille tiedoille, Sandbox testaukseen.
connect-aws-endpoint = Päätepiste
connect-advanced = Lisäasetukset
connect-advanced-hint = Jätä ennalleen, ellei palveluntarjoajasi neuvo muuta.
connect-client-id = Sovelluksesi asiakastunnus
connect-client-secret = Sovelluksesi asiakassalaisuus
connect-oauth-hint = Palveluntarjoajan kehittäjäasetuksissa tekemästäsi sovelluksesta.
connect-base-url-hubspot = Rajapinnan osoite
connect-base-url-salesforce = Instanssisi osoite (valinnainen: selviää kirjautuessa)
connect-auth-url = Valtuutusosoite
connect-token-url = Tunnisteosoite
connect-scopes = Oikeudet
connect-webhook-url = Osoite
connect-webhook-hint = Mihin liidit ja kaupat lähetetään. Jokainen pyyntö allekirjoitetaan salaisuudella, joka näytetään kerran tallennuksen jälkeen.
connect-schedule = Milloin se ajetaan
connect-schedule-default-source = 15 minuutin välein (oletus)
connect-schedule-default-sink = Minuutin välein (oletus)
connect-schedule-every-minute = Minuutin välein
connect-schedule-every-15-minutes = 15 minuutin välein
connect-schedule-hourly = Tunneittain
connect-schedule-daily = Päivittäin kello
connect-schedule-cron = Lisäasetus: cron-lauseke
connect-daily-at = Kellonaika (UTC)
connect-cron = Cron-lauseke
connect-cron-hint = Viisi kenttää, tai kuusi sekunnit ensin, UTC-ajassa.
connect-submit = Tarkista ja tallenna
connect-submit-oauth = Tallenna ja kirjaudu
connect-required = Täytä tämä kenttä.
connect-bad-url = Osoite, joka alkaa https:// (tai http://).
connect-bad-time = Kellonaika, esimerkiksi 06:30.
connect-bad-json = Manifesti ei ole JSONia: { $error }
connect-fix-fields = Joitakin kenttiä on korjattava: katso alta.
connect-made = "{ $name }" on yhdistetty.
connect-secret-title = Webhookisi allekirjoitussalaisuus
connect-secret-text = Jokaisessa osoitteeseesi tulevassa pyynnössä on tällä salaisuudella tehty Onepane-Signature-otsake. Kopioi se nyt vastaanottimeesi: sitä ei näytetä uudelleen.
connect-secret-label = Allekirjoitussalaisuus
connect-secret-done = Valmis
connection-created = Yhteys on tallennettu. Se ajetaan aikataulunsa mukaan, tai heti Synkronoi nyt -painikkeella.
connection-pause = Keskeytä
connection-resume = Jatka
connection-paused = Yhteys on keskeytetty: mitään ei ajeta ennen kuin jatkat sitä.
connection-resumed = Yhteys ajetaan taas aikataulunsa mukaan.
connection-delete = Poista
connection-delete-explained = Sen tunnukset, aikataulu ja ajohistoria poistetaan sen mukana. Se, mitä se toi (liidit, kampanjat, hinnat), jää sinulle, ja uusi yhteys samaan toimittajaan päivittää nuo tiedot kopioimatta niitä.
connection-delete-confirm = Poista ”{ $connection }” pysyvästi
connection-deleted = Yhteys on poistettu. Se, mitä se toi, jää.
connection-delete-running = Yhteyden synkronointi on käynnissä. Keskeytä yhteys ja poista se, kun ajo on päättynyt.
connection-delete-unconfirmed = Vahvista poisto rastittamalla ruutu.
