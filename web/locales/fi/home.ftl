home-title = { $workspace }: tänään kaikilta toimittajilta
home-actions = Odottaa toimiasi
home-actions-none = Mikään ei juuri nyt odota toimiasi.
home-action-campaign = Uusi kampanja: { $name }
home-action-connection-failing = Yhteys ei toimi: { $name }
home-vendors = Toimittajasi
home-new-leads = Uudet liidit
home-pending-deals = Odottavat rekisteröinnit
home-approved-deals = Hyväksytyt rekisteröinnit
home-chart-pipeline = Rekisteröity myyntiputki toimittajittain
home-chart-margin = Keskimääräinen kate toimittajittain
home-chart-campaigns = Liidit kampanjoittain viikoittain
home-chart-empty = Ei vielä lukuja.
due = määräaika { $when }
campaign = Kampanja
lead = Liidi
deal = Kauppa
connection = Yhteys
tier = Taso
tier-registered = Rekisteröity
tier-silver = Hopea
tier-gold = Kulta
tier-platinum = Platina
home-chart-margin-pending = Ei vielä katteita: hintoja lasketaan, tai yksikään toimittaja ei ole lähettänyt hinnastoa.
home-ends = päättyy { $when }
home-deadlines = Määräajat, lähin ensin
home-news = Uutta, ei määräaikaa
home-due-lead-answer = vastaa viimeistään { $when }
home-due-decision-awaited = päätöstä odotetaan { $when } mennessä
home-due-protection-ends = suojaus päättyy { $when }
home-due-reauthorize = kirjaudu uudelleen nyt
home-due-delivery-refused = ei otettu vastaan { $when }
home-more = { $count ->
    [one] Vielä yksi määräaika
   *[other] Vielä { $count } määräaikaa
}
home-more-kind = { $kind } ({ $count })
