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
