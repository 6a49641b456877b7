# SMS as a channel: keywords from a feature phone (English). Every text fits two SMS
# segments in GSM-7 (306 characters); tests/it/sms.rs checks each one.

sms-status = Ashyq: your status is { $colour ->
        [red] RED
        [yellow] YELLOW
        [green] GREEN
       *[blue] BLUE
    }{ $has_until ->
        [yes] , valid until { $until }.
       *[no] .
    }
sms-status-unavailable = Ashyq: no status can be sent for this request. It goes only to the number registered to the IIN in the mobile citizens database (egov.kz).
sms-status-bad-iin = Ashyq: an IIN has 12 digits. Send STATUS, or STATUS and your IIN.
sms-help = Ashyq by SMS: STATUS - your status (add your IIN if needed). N#1 or N#2 - accept or decline meal voucher offer N. RU, KZ, EN - language of replies.
sms-language-set = Ashyq: replies will be in English.
sms-unknown = Ashyq: not understood. Send HELP for the list of commands.
sms-too-many = Ashyq: too many SMS from this number. Replies will resume later.
