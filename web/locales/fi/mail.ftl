# Määräajat sähköpostina: jäsenen valinnat asetuksissa, kooste- ja
# kiireellisten liidien viestit sekä tilauksen lopetussivu.
settings-mail = Sähköposti määräajoista
settings-mail-hint = Onepane voi kertoa sähköpostitse, mitä erääntyy, ennen kuin määräaika menee ohi. Valitse, mitä haluat; jokaisessa viestissä on linkki, jolla sen tilaus päättyy.
mail-daily-digest = Päivittäinen kooste: mitä erääntyy seuraavan 7 päivän aikana ja mitä jäi tekemättä, joka aamu kello { $hour } alkaen aikavyöhykkeesi mukaan
mail-urgent-leads = Viesti heti, kun toimittaja lähettää liidin, johon on vastattava 48 tunnin kuluessa
mail-time-zone = Aikavyöhykkeesi
mail-time-zone-hint = IANA-tietokannan nimellä, esimerkiksi Europe/Helsinki. Viestit kertovat ajat tällä aikavyöhykkeellä.
mail-time-zone-invalid = ”{ $zone }” ei ole tuntemamme aikavyöhyke. Kirjoita se IANA-tietokannan nimellä, esimerkiksi Europe/Helsinki tai America/New_York.
mail-saved = Sähköpostivalintasi on tallennettu.
mail-digest-subject = Onepane: erääntyvät { $date }
mail-digest-intro = Työtilan { $workspace } määräajat { $date }.
mail-digest-missed = Jäi tekemättä edellisen koosteen jälkeen:
mail-digest-coming = Erääntyy seuraavan 7 päivän aikana:
mail-digest-older = { $count ->
    [one] Yksi vanhempi määräaika on yhä myöhässä: { $link }
   *[other] { $count } vanhempaa määräaikaa on yhä myöhässä: { $link }
}
mail-times-in = Ajat ovat aikavyöhykkeellä { $zone }.
mail-digest-why = Saat tämän viestin kerran päivässä, koska valitsit Onepanessa päivittäisen koosteen. Lopeta tilaus avaamalla { $link }
mail-urgent-subject = Onepane: vastaa liidiin { $when } mennessä ({ $zone })
mail-urgent-intro = { $vendor } lähetti työtilalle { $workspace } liidin, johon on vastattava { $when } mennessä (aikavyöhyke { $zone }):
mail-urgent-why = Saat tämän viestin, koska valitsit Onepanessa viestit kiireellisistä liideistä. Lopeta tilaus avaamalla { $link }
mail-settings-link = Valitse, mitä viestejä saat: { $link }
unsubscribe-title = Lopeta tämän viestin tilaus
unsubscribe-ask-digest = Lopetetaanko määräaikojen päivittäinen kooste osoitteelle { $email }?
unsubscribe-ask-urgent-lead = Lopetetaanko viestit kiireellisistä liideistä osoitteelle { $email }?
unsubscribe-ask-unknown-member = Lopetetaanko tämän viestin tilaus?
unsubscribe-submit = Lopeta tilaus
unsubscribe-done-digest = Päivittäinen kooste on lopetettu. Voit tilata sen uudelleen Onepanen asetuksista.
unsubscribe-done-urgent-lead = Viestit kiireellisistä liideistä on lopetettu. Voit tilata ne uudelleen Onepanen asetuksista.
unsubscribe-malformed = Tämä ei ole tilauksen lopetuslinkki. Kopioi koko linkki viestistä tai valitse viestisi Onepanen asetuksista.
unsubscribe-forged = Tämä lopetuslinkki ei kelpaa: sitä ei ole tehnyt tämä Onepane, tai sitä on muutettu. Käytä viestissä ollutta linkkiä tai valitse viestisi Onepanen asetuksista.
