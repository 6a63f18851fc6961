prices-none = No price items match.
prices-category = Category
prices-sort = Sort by
prices-sort-sku = SKU
prices-sort-margin = Margin, highest first
prices-sort-margin-percent = Margin %, highest first
prices-deal-discount = Deal discount %
prices-discount-invalid = Give the deal discount as a percentage from 0 to 100.
prices-count = { $count ->
    [one] { $count } item
   *[other] { $count } items
}
prices-home = home currency { $currency }
prices-product = Product
prices-list = List price
prices-cost = Cost
prices-sell = Sell
prices-margin = Margin
prices-margin-percent = Margin %
prices-with-deal = A registered deal adds
prices-error = Cannot be priced: add the exchange rate in Settings.
previous-page = Previous page
prices-how-tier = tier −{ $percent }
prices-how-volume = volume −{ $percent }
prices-how-promotion = promotion −{ $percent }
prices-how-deal = deal −{ $percent }
prices-how-no-discount = no discount
prices-how-sell-list = sells at list price (no sell rule)
prices-how-sell-markup = sells at cost +{ $percent }
prices-how-sell-discount = sells at list −{ $percent }
prices-how-every-item = every item
prices-above-list = above list
prices-above-list-explained = The sell price is above the vendor's list price.
