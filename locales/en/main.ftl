# Ashyq: English texts. Every key exists in kk, ru and en with the same placeables.
# Terms: docs/GLOSSARY.md.

## Commands (setMyCommands)
cmd-start = Start or return to the main menu
cmd-me = My data
cmd-lang = Change the language
cmd-forget = Delete my data
cmd-help = Help

## Language
choose-language = Тілді таңдаңыз · Выберите язык · Choose a language
language-set = The bot will answer in English.
hint-choose-language = Please pick a language with one of the buttons.

## Registration
idle-prompt = Hello! This is Ashyq: your epidemiological status and venue check-in. Send /start to begin (you can choose the language there).
consent-text =
    Ashyq shows your epidemiological status and checks you in at venues. For that we need your phone number and your IIN.

    We keep them only encrypted, use them only to look up your status with your consent, never show them to venues and never pass them on. You can delete your data at any time with /forget.

    Do you agree to the processing of your personal data?
consent-accept = ✅ I agree
consent-decline = ❌ I do not agree
consent-declined = Understood: nothing has been saved. Without consent the bot cannot show your status. If you change your mind, send /start.
phone-prompt = Tap “Share my number” below so we can confirm the phone is yours.
phone-share-button = 📱 Share my number
phone-saved = Thank you, your number is confirmed.
phone-not-yours = This is someone else’s contact. Please share your own number with the button below.
phone-use-button = Please don’t type the number: tap the button below, so we know it is yours.
phone-invalid = This number cannot be used. Please share your own mobile number with the button below.
iin-prompt = Now enter your IIN: 12 digits, as in your ID card.
iin-wrong-length = An IIN has 12 digits; you entered { $count ->
        [one] { $count } digit
       *[other] { $count } digits
    }. Please check and enter it again.
iin-not-digits = An IIN contains only digits. Please enter the 12 digits of your IIN.
iin-bad-checksum = This IIN does not exist: the last digit does not match. Please check for a typo.
iin-impossible-date = The first digits of an IIN are the birth date, and this one is impossible. Please check the IIN.
iin-under-age = Only people aged { $age } and over can register in Ashyq.
iin-taken = This IIN is already registered to another account. If it is yours, contact support.
registered = Registration complete! Use the menu below.
welcome-back = Welcome back! Use the menu below.
hint-registration-in-progress = You are in the middle of registration; let’s finish it first.
hint-register-first = That is available after registration. Send /start to register.

## Main menu
menu-prompt = Main menu: choose what you need below.
menu-me = 👤 My data
menu-lang = 🌐 Language
menu-help = ❓ Help
menu-forget = 🗑 Delete my data
me-info =
    Your data in Ashyq:
    Phone: { $phone }
    IIN: { $iin }
    Language: { $language }
help =
    Ashyq shows your epidemiological status and checks you in at venues.

    /start: registration or the main menu
    /me: what the bot knows about you
    /lang: change the language
    /forget: delete your data
    Unified contact centre: 1414 (citizens), 1432 (businesses).

## Deleting data
forget-confirm = Delete your phone number, IIN and everything tied to them? This cannot be undone.
forget-yes = 🗑 Yes, delete
forget-no = Cancel
forget-done = Your data has been deleted. To use Ashyq again, send /start.
forget-cancelled = Nothing was deleted.

## Hints for unexpected input
hint-edited = The bot reads only new messages. Please send it again as a new message.
hint-forwarded = Forwarded messages are not accepted here. Please type it yourself.
hint-too-long = This message is too long: at most { $max ->
        [one] { $max } character
       *[other] { $max } characters
    }.
hint-stale-button = That button is no longer active.
hint-unknown-command = There is no such command. /help lists the commands.
hint-unsupported = { $kind ->
        [sticker] A sticker
        [photo] A photo
        [voice] A voice message
        [video] A video
        [audio] An audio file
        [location] A location
        [document] A file
        [poll] A poll
       *[other] This kind of message
    } can’t be used here.
hint-contact-not-needed = A contact isn’t needed right now.
hint-not-understood = Sorry, the message could not be understood.
hint-use-menu = Please choose from the menu below.

## Errors
error-generic = Sorry, something went wrong on our side. Please try again in a minute.

## Terminal chat (the offline adapter)
terminal-banner =
    Ashyq offline chat. Type like in a messenger; pick buttons by number.
    /contact shares your number ({ $phone }); a demo IIN to type: { $iin }. /quit exits.
