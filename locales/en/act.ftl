# The supplier's monthly act (`ashyq wallet act`): printed in Kazakh and Russian side by side;
# English for parity only.

act-title = Act of completed work: school meals
act-period = Period: { $month }
act-supplier = Supplier: { $name }, BIN { $bin }
act-status = { $status ->
        [final] Final act: the month is over and the act no longer changes.
       *[draft] Draft: the month is not over yet.
    }
act-ledger = Last entry of the event ledger: №{ $seq }
act-col-school-bin = School BIN
act-col-school = School
act-col-day = Date
act-col-meals = Meals
act-col-price = Price of one meal
act-col-amount = Amount
act-total = Total
act-day = { $day }
