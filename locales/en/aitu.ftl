# The Aitu channel: more buttons, and confirming a number by SMS (English).

aitu-more-buttons = More options:

## One-time code by SMS (when Aitu did not share the number)
aitu-otp-sms = Ashyq: your confirmation code is { $code }. Do not share it with anyone. It is valid for { $minutes } minutes.
aitu-otp-ask-number = If the button does not work, type your number (for example, +7 701 123 45 67) and we will send a confirmation code to it by SMS.
aitu-otp-sent = We sent an SMS with a confirmation code to your number. Type the code here. It is valid for { $minutes } minutes.
aitu-otp-verified = Your phone number is confirmed.
aitu-otp-wrong = Wrong code. Attempts left: { $left }.
aitu-otp-exhausted = No attempts left. Type your number again to get a new code.
aitu-otp-expired = The code has expired. Type your number again to get a new code.
aitu-otp-not-a-code = Type the { $digits }-digit code from the SMS.
aitu-otp-not-a-number = This is not a mobile number. Type it like +7 701 123 45 67.
aitu-otp-too-many = Too many codes were requested. Try again in an hour.
