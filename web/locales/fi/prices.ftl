prices-none = Ei hakua vastaavia hintarivejä.
prices-category = Kategoria
prices-sort = Järjestys
prices-sort-sku = Tuotekoodi
prices-sort-margin = Kate, suurin ensin
prices-sort-margin-percent = Kate-%, suurin ensin
prices-deal-discount = Kaupan alennus %
prices-discount-invalid = Anna kaupan alennus prosentteina väliltä 0–100.
prices-count = { $count ->
    [one] { $count } tuote
   *[other] { $count } tuotetta
}
prices-home = kotivaluutta { $currency }
prices-product = Tuote
prices-list = Listahinta
prices-cost = Hankinta
prices-sell = Myynti
prices-margin = Kate
prices-margin-percent = Kate-%
prices-with-deal = Rekisteröity kauppa lisää
prices-error = Ei voi hinnoitella: lisää valuuttakurssi Asetuksissa.
previous-page = Edellinen sivu
prices-how-tier = taso −{ $percent }
prices-how-volume = määrä −{ $percent }
prices-how-promotion = kampanja −{ $percent }
prices-how-deal = kauppa −{ $percent }
prices-how-no-discount = ei alennusta
prices-how-sell-list = myydään listahintaan (ei myyntisääntöä)
prices-how-sell-markup = myydään hinnalla kustannus +{ $percent }
prices-how-sell-discount = myydään hinnalla lista −{ $percent }
prices-how-every-item = kaikki tuotteet
prices-above-list = yli listahinnan
prices-above-list-explained = Myyntihinta on yli toimittajan listahinnan.
