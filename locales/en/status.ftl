# Epidemiological status: the /status reply and colour change notices.
# The laboratory and other medical details are never shown here.
# Dates and times are Astana time, in the dates.ftl style.

cmd-status = My epidemiological status
menu-status = 🚦 My status

-red = 🟥 red
-yellow = 🟨 yellow
-green = 🟩 green
-blue = 🟦 blue

status-reply =
    { $colour ->
        [red] 🟥 RED status
        [yellow] 🟨 YELLOW status
        [green] 🟩 GREEN status
       *[blue] 🟦 BLUE status
    }
    { $colour ->
        [red] You may go nowhere: strict home isolation.
        [yellow] Only grocery shops and pharmacies near your home.
        [green] You may go everywhere.
       *[blue] Everywhere except places that require a PCR test (e.g. airports).
    }
    { $has_until ->
        [yes] Until { $until } ({ $days_left ->
            [one] { $days_left } day left
           *[other] { $days_left } days left
        }).
       *[no] Holds until new test results or contacts arrive.
    }
    { $cause ->
        [pcr_positive] Because of a positive PCR test, sample taken on { $cause_date }.
        [pcr_negative] Because of a negative PCR test, sample taken on { $cause_date }.
        [contact] Because of a contact with an infected person on { $cause_date }.
       *[none] No current test results or contacts on record.
    }

status-changed =
    Your Ashyq status has changed: now { $colour ->
        [red] { -red }
        [yellow] { -yellow }
        [green] { -green }
       *[blue] { -blue }
    }{ $has_until ->
        [yes] {" "}until { $until }.
       *[no] .
    }
    { $colour ->
        [red] You may go nowhere: strict home isolation.
        [yellow] Only grocery shops and pharmacies near your home.
        [green] You may go everywhere.
       *[blue] Everywhere except places that require a PCR test (e.g. airports).
    }
    Details: /status

# Old keys, kept for compatibility: new code passes dates as typed arguments (dates.ftl).
status-date = { $day } { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    }
status-date-time = { $day } { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    }, { $time }
