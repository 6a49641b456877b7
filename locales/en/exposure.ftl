# Exposure warnings (issue 18). Advice only: they never change anyone's status, never say
# who the positive visitor was or their colour.

exposure-warning =
    ⚠️ Possible exposure to COVID-19.
    On { $date } you were at «{ $venue }» ({ $from }–{ $to }, Astana time) at the same time as a visitor who has since had a positive PCR test.
    This is advice; your status has not changed.
    What to do:
    • watch your health over the coming days: fever, cough, loss of smell or taste;
    • get a PCR test, even if you feel well;
    • if you feel unwell, stay at home and call 1414.
exposure-correction =
    ℹ️ Correction: disregard our warning about your visit to «{ $venue }» on { $date }. The laboratory has retracted the test result it was based on. Nothing else is needed from you.
exposure-owner-count =
    ℹ️ A visitor of «{ $venue }» ({ $date }) has since had a positive PCR test. { $count } other visitors who were there at the same time have been advised to watch their health and get tested. We do not share who they are. Please ventilate and disinfect the premises.
exposure-sanitary-summary =
    🦠 Co-visitors of a positive case: «{ $venue }» (venue { $venue_id }), { $start } – { $end } (Astana time). Visitors who overlapped for { $minutes } minutes or more: { $count }; they have been advised, nobody's status was changed. Case { $case }: the list of IINs is available with `ashyq exposure export --case { $case }`.
exposure-sanitary-withdrawn =
    ↩️ The laboratory retracted case { $case }. «{ $venue }» (venue { $venue_id }): { $count } warnings were based on it; { $still } of them remain because of another positive case, the rest were corrected.
# A dependant's visit (checked in with an adult): told to the adult, the dependant named by
# the masked IIN only.
exposure-warning-dependant =
    ⚠️ Possible exposure to COVID-19: { $relation ->
        [child] your child
       *[other] your relative
    } { $who }.
    On { $date } they were at «{ $venue }» ({ $from }–{ $to }, Astana time) at the same time as a visitor who has since had a positive PCR test.
    This is advice; nobody's status has changed.
    What to do:
    • watch their health over the coming days: fever, cough, loss of smell or taste;
    • arrange a PCR test for them, even if they feel well;
    • if they feel unwell, they should stay at home; call 1414.
exposure-correction-dependant =
    ℹ️ Correction: disregard our warning about the visit of { $relation ->
        [child] your child
       *[other] your relative
    } { $who } to «{ $venue }» on { $date }. The laboratory has retracted the test result it was based on. Nothing else is needed.
