# Menkai — English
# Every string a person reads. Keep the same message ids as ja.ftl (a test checks).

## Frame
skip-to-content = Skip to content
nav-label = Staff menu
nav-today = Today
nav-book = Book a visit
nav-residents = Residents
nav-devices = Devices
nav-accounts = Staff accounts
nav-facility = Settings
nav-audit = History
nav-logout = Log out
language-switch = Language
save = Save

## Dates
date-long = { $weekday } { $day } { $month } { $year }
weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday
weekday-long-1 = Monday
weekday-long-2 = Tuesday
weekday-long-3 = Wednesday
weekday-long-4 = Thursday
weekday-long-5 = Friday
weekday-long-6 = Saturday
weekday-long-7 = Sunday
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## Errors
error-title = Something went wrong
error-status = (error { $status })
error-home = Back to the start
error-not_found = This page does not exist. Check the address, or go back to the start.
error-unauthorized = Please log in first.
error-invalid_device_token = This device is not paired (or was removed). Pair it again with a new code from the Devices page.
error-forbidden = Only an administrator can do this.
error-csrf_failed = This form has expired. Go back, reload the page and try again.
error-invalid_input = Some entries need correcting.
error-rate_limited = Too many attempts. Please wait { $seconds } seconds and try again.
error-busy = The server is busy right now. Please try again in a moment.
error-invalid_characters = This contains invisible or unusable characters (they often come with text pasted from elsewhere). Please type it again.
error-no_visible_characters = Please enter letters or numbers, not only spaces or accent marks.
error-possible_duplicate = A resident with the same name and room is already on the list. Confirm to add a second one (in the API: "confirm_duplicate": true).
error-payload_too_large = What was sent is too large.
error-method_not_allowed = This address does not accept that kind of request.
error-unsupported_media_type = What was sent is not in a format this address accepts.
error-timeout = The request took too long. Please try again.
error-bad_request = The request could not be understood.
error-internal = Something went wrong on our side. Please try again in a moment.
error-bad_form = The form could not be read. Reload the page and try again.
error-bad_json = The request body is not valid JSON.
error-bad_json_fields = The JSON has missing fields or fields of the wrong type.
error-json_content_type_required = Send the body as JSON (Content-Type: application/json).
error-invalid_pairing_code = This pairing code is wrong or has expired. Ask staff for a new one.
error-resident_busy = The resident already has a visit at this time (including the cleaning break).
error-device_busy = The device is already booked at this time (including the cleaning break).
error-last_admin = This is the last active administrator; the account cannot be disabled.
error-visit_cancelled = This visit has been cancelled.
error-visit_ended = This visit has already ended.
error-visit_not_started = This visit has not started yet.
error-visit_started = This visit has already started; it can no longer be moved.
error-required = Please fill this in.
error-too_long = This is too long.
error-too_many = There are too many entries.
error-invalid_choice = Please choose one of the options.
error-invalid_date = Please enter a date like 2026-12-01.
error-invalid_time = Please enter a valid date and time.
error-invalid_hours = Each day's opening must start before it ends (times like 09:00).
error-invalid_login = Use letters, digits and . _ - @ only.
error-login_taken = This login name is already in use.
error-out_of_range = This number is outside the allowed range.
error-outside_visiting_hours = This time is outside visiting hours.
error-in_the_past = This time has already passed.
error-too_far_ahead = Visits can be booked up to one year ahead.
error-choose_slot = Please choose a time.
error-guests_required = Please enter the name of at least one family member.
error-too_many_guests = At most three family members (homes) can join one visit.
error-unknown_resident = This resident does not exist or has been archived.
error-unknown_device = This device does not exist.
error-device_revoked = This device has been revoked.
error-wrong_device_kind = This device is of the wrong kind (tablet or entrance kiosk).
error-unknown_time_zone = Unknown time zone.
error-invalid_phone = Use digits, spaces and + - ( ) only, at most 30.
error-password_too_short = The password is too short.
error-passwords_differ = The two passwords are not the same.

## Login and accounts
login-title = Staff login
login-name = Login name
login-password = Password
login-submit = Log in
login-failed = The login name or password is wrong.
login-help = Forgotten your password? Ask an administrator for a new account link.
setup-title = Create your account
setup-intro = You have been invited with the role “{ $role }”. Choose a login name and a password.
setup-display-name = Name shown to colleagues
setup-password-hint = At least { $count } characters. A short sentence is easy to remember.
setup-password-again = Password again
setup-submit = Create account
role-admin = Administrator
role-staff = Staff
accounts-title = Staff accounts
accounts-add = Invite a colleague
accounts-add-submit = Make account link
accounts-role = Role
accounts-link = Account link
accounts-link-for = Account link for { $name }
accounts-link-hint = Give this link to the person. It works once, for 24 hours.
accounts-disabled = disabled
accounts-disable = Disable
accounts-enable = Enable

## Today
today-title = Today's visits
day-title = Visits on
today-book = Book a visit
today-empty = No visits on this day.
today-caption = Visits of the day
day-nav = Choose a day
day-prev = Previous day
day-next = Next day
day-today = Today
col-time = Time
col-resident = Resident
col-mode = How
col-guests = Family
col-state = Status
col-actions = Actions
mode-remote = From home
mode-remote-hint = The family joins with a link on their phone or computer.
mode-entrance = At the entrance
mode-entrance-hint = The family sits at the entrance kiosk with staff nearby.
state-scheduled = Booked
state-open = Open now
state-live = In progress
state-ended = Ended
state-cancelled = Cancelled

## Booking
book-title = Book a visit
book-step-who = Who and how
book-step-time = Choose a time on { $date }
book-step-guests = Family members who will join
book-step-guests-entrance = Family members coming to the entrance (optional)
book-resident = Resident
book-date = Date
book-mode = How will the family join?
book-ward-device = Tablet on the ward
book-kiosk = Entrance kiosk
book-choose = — choose —
book-show-slots = Show free times
book-choose-first = Choose the resident and the tablet to see the free times.
book-no-residents = No residents yet: add one first.
book-no-devices = No tablets yet: an administrator adds them under Devices.
book-now = Now ({ $times })
book-no-slots = No free time on this day. Try another day.
book-slot-length = Each visit is { $minutes } minutes.
book-guests-hint = One name per home; each gets their own link. Up to three.
book-guests-hint-entrance = Names help reception greet them. No link is needed.
book-guest-n = Family member { $n }
book-submit = Book this visit
book-fix-errors = Please correct the marked entries.

## Invitations
visit-links-gone = The links are shown only once, right after they are made, and this page was left or is too old. If a family needs their link again, make a new one below: the old one then stops working.
inv-print-entrance = Print a card for the family (what to do at reception)
inv-title = Visit booked
inv-to-visit = Visit details
inv-booked = Booked: { $resident }, { $when }.
inv-entrance = This is an entrance visit: the family comes to the entrance kiosk. No link is needed.
inv-once = Send or print the links now. For safety they are shown only once; if one is lost, make a new link from the visit details.
inv-for = Link for { $guest }
inv-qr-alt = QR code of the visit link for { $guest }
inv-link = Visit link
inv-copy = Copy link
inv-copied = Copied ✓
inv-print = Print card
inv-calendar = Add to calendar
inv-message = Message to send (LINE, e-mail, SMS)
inv-copy-ja = Copy Japanese message
inv-copy-en = Copy English message
invite-title = Video visit with { $resident }
invite-message =
    Dear { $guest },
    Your video visit with { $resident } at { $facility } is booked for { $date }, { $start }–{ $end }.
    At that time, open this link on your phone or computer. Nothing needs to be installed:
    { $url }
    The link works from 15 minutes before the start. Please keep it to yourself.
ics-description = Open this link at the time of the visit: { $url }

## Visit details
visit-title = Visit details
visit-when = When
visit-time = Start time
visit-duration = Minutes
visit-new-link = New link
visit-new-link-hint = "New link" makes a fresh link for that person; the old one stops working.
visit-reschedule = Move this visit
visit-reschedule-hint = The family's links stay the same.
visit-reschedule-submit = Move visit
visit-cancel = Cancel this visit
visit-cancel-hint = All links of this visit stop working and show that the visit was cancelled.
visit-cancel-submit = Cancel visit
link-active = link active
link-revoked = link no longer valid
link-none = no link (entrance)

## Residents
residents-title = Residents
residents-add = Add a resident
residents-duplicate = { $name } ({ $room }) is already on the list. Add a second resident with the same name and room anyway?
residents-add-anyway = Add anyway
residents-add-cancel = Do not add
residents-add-submit = Add
residents-name = Name
residents-room = Room or unit
residents-privacy = Only a name and a room. Never enter medical information.
residents-empty = No residents yet.
residents-archived = archived
residents-edit = Edit
residents-book = Book
residents-edit-title = Edit resident
residents-archive = Archive
residents-archive-hint = Archived residents are kept for history and can no longer be booked.
residents-restore = Restore
resident-with-room = { $name } ({ $room })

## Devices
devices-title = Devices
devices-add = Add a device
devices-add-submit = Add and show pairing code
devices-name = Name
devices-name-example = e.g. Tablet, 2nd floor east
devices-kind = Kind
kind-ward = Ward tablet
kind-entrance = Entrance kiosk
devices-empty = No devices yet.
devices-last-seen = Last seen
devices-never-seen = not yet
devices-new-code = New pairing code
devices-revoke = Revoke
devices-code-for = Pairing code for { $device }
devices-code-how = On the device, open { $url } and type this code. It works once, until { $time }.
device-awaiting_pairing = Waiting for pairing
device-pairing_expired = Code expired
device-paired = Paired
device-revoked = Revoked

## Settings
facility-title = Settings
facility-name = Facility name
facility-phone = Telephone for families
facility-phone-hint = Shown on the family's pages and the printed card. Optional.
facility-time-zone = Time zone
facility-language = Default language
facility-slot = Visit length (minutes)
facility-buffer = Cleaning break (minutes)
facility-buffer-hint = Time kept free between two visits on the same device or with the same resident.
facility-hours = Visiting hours
facility-day = Day
facility-open = Open
facility-from = From
facility-to = Until
facility-open-on = Open on { $day }
facility-from-on = { $day } from
facility-to-on = { $day } until

## History
audit-title = History
audit-empty = Nothing has happened yet.
audit-when = When
audit-who = Who
audit-what = What
audit-detail = Details
audit-visit_booked = Visit booked
audit-visit_rescheduled = Visit moved
audit-visit_cancelled = Visit cancelled
audit-visit_extended = Visit extended
audit-visit_ended = Visit ended
audit-link_reissued = New link made
audit-resident_added = Resident added
audit-resident_changed = Resident changed
audit-resident_archived = Resident archived
audit-resident_restored = Resident restored
audit-device_added = Device added
audit-device_code_renewed = New pairing code
audit-device_paired = Device paired
audit-device_revoked = Device revoked
audit-device_volume = Volume changed
audit-staff_invited = Colleague invited
audit-staff_account_created = Account created
audit-staff_disabled = Account disabled
audit-staff_enabled = Account enabled
audit-api_token_created = API token created
audit-facility_changed = Settings changed
actor-first-start = Menkai (first start)
actor-command-line = Administrator (command line)
actor-device = Device

## The family's visit link
join-page-title = Video visit
join-hello = Hello, { $guest }
join-with = Video visit with { $resident }
join-too-early = It is not time yet. This page opens at { $time } on the day of the visit.
join-keep-link = Keep this link. Open it again shortly before the visit.
join-waiting = The visit starts soon. Please stay on this page.
join-waiting-help = When it is time, the call starts by itself. Allow the camera and microphone if you are asked.
join-open = The visit has started.
join-open-help = The call screen opens on this page. If it does not appear, press the button below.
join-reload = Open the call
join-phone = Questions? Call { $facility }:
join-unknown-title = This link does not work
join-unknown-body = The address may be incomplete. Please open the link exactly as you received it.
join-cancelled-title = This visit was cancelled
join-cancelled-body = The visit with { $resident } on { $date } has been cancelled.
join-ended-title = This visit has ended
join-ended-body = Thank you for visiting { $resident }.
join-replaced-title = This link has been replaced
join-elsewhere-title = You joined this visit from another device
join-replaced-body = The care home has sent you a newer link for this visit. Please use that one.
join-contact = If you have questions, please contact the care home that sent you this link.
join-contact-next = To book another visit, please contact the care home.
countdown-days = days
countdown-hours = h
countdown-minutes = min
countdown-soon = Starting any moment
countdown-prefix = Starts in

## Print card
card-print = Print this card
card-qr-alt = QR code for the video visit
card-entrance-place = At the entrance of { $facility }
card-entrance-step-1 = Come to reception a few minutes before the time above.
card-entrance-step-2 = Tell the staff you have a video visit. They will take you to the screen.
card-entrance-step-3 = The call starts by itself. There is nothing to press.
ics-entrance-description = A video visit at the entrance of { $facility }. Come to reception a few minutes early and tell the staff you have a video visit; the call starts by itself.
card-step-1 = Point your phone's camera at the QR code.
card-step-2 = At the time shown above, tap the link that appears.
card-step-3 = Allow camera and microphone. You will see each other.
card-contact = Questions: { $facility }

## Signaling errors (the `message` of an error frame)
ws-invalid_token = This link or device token is not valid.
ws-link_expired = This visit has ended; the link no longer works.
ws-link_replaced = This link was replaced by a newer one.
ws-visit_cancelled = This visit was cancelled.
ws-too_early = It is too early: the link opens 15 minutes before the visit. Stay connected; you will be let in.
ws-visit_full = This visit already has as many participants as it can take.
ws-bad_message = The message could not be understood.
ws-message_too_large = The message is larger than 64 KiB.
ws-rate_limited = Too many messages; some were dropped.
ws-unknown_peer = There is no such participant in this visit.
ws-internal = Something went wrong on the server.
ws-device_revoked = This device was removed by staff.
ws-joined_elsewhere = This link was opened on another device, which now has the seat.

## The call
join-connecting = Connecting you now…
call-label = Video call
call-alone = Waiting for the others to join…
call-self = Your picture
call-mic-on = Microphone on
call-mic-off = Microphone off
call-cam-on = Camera on
call-cam-off = Camera off
call-leave = Leave
call-quality-good = Connection: good
call-quality-fair = Connection: fair
call-quality-poor = Connection: poor
call-notice-5 = 5 minutes left. Time to start saying goodbye.
call-notice-1 = 1 minute left.
call-entrance-family = Family at the entrance
call-relayed = relayed
call-video-paused = Picture paused — the sound continues
call-reconnecting = Reconnecting… the call continues.
call-tap-for-sound = Tap here to turn on the sound
call-ended-title = The visit has ended
call-left-title = You left the visit
call-rejoin = Join again
call-full = This visit already has the most participants it can take.
media-denied = The camera and microphone are blocked. Tap the lock or “aA” sign next to the address, allow Camera and Microphone, then reload this page. You can still see and hear your family.
media-no-camera = No camera was found. You will join with sound only; you can still see your family.
media-no-devices = No camera or microphone was found. You can still see and hear your family.
media-insecure = This page must be opened with its https:// address for camera and microphone to work.

## Devices
device-title = Video visits
device-next-visits = Today's visits
device-no-visits = No more visits today.
device-connecting = Connecting…
device-unpaired = This device is not set up yet
device-unpaired-help = A staff member pairs it once with the code shown on the Devices page.
device-cleaning-title = Please wipe the screen
device-cleaning-body = Thank you. Please wipe the screen, keyboard and chair for the next visitor.
device-sound-unlock = Tap once to turn on the sound
device-sound-unlock-help = Browsers play sound only after one tap. You only need to do this once after switching the device on.
pair-title = Set up this device
pair-intro = Type the 8-digit code shown on the staff Devices page.
pair-code = Pairing code
pair-submit = Set up
pair-wait = Too many wrong codes. Please wait a minute and try again.
pair-network = The server cannot be reached. Check the network and try again.

## Staff: live visits
live-connected = Connected: { $names }
live-nobody = Nobody connected yet
live-extend = Extend 10 minutes
live-extend-room = free for { $minutes } more min
live-extend-none = Cannot extend: the next visit follows
notice-end-conflict = Nothing was changed: the visit had already ended (or had not begun yet).
notice-cancel-conflict = The visit could not be cancelled: it has already ended or was cancelled before. Nothing was changed.
notice-extend-conflict = The visit was not extended: another visit now needs that time. Nothing was changed.
live-relayed = Through a relay (a network between them blocks a direct path)
live-end = End now
devices-volume = Volume
devices-volume-set = Set
devices-volume-offline = Volume saved. The tablet is not connected now; it will use this volume when it connects.
devices-volume-set-now = Volume set. The tablet uses it now.
devices-volume-quieter = { $percent }% (quieter)
devices-volume-normal = { $percent }% (normal)
devices-volume-louder = { $percent }% (louder)
devices-now = Now
devices-online = Connected
devices-offline = Not connected
health-camera-ok = Camera ready
health-microphone-ok = Microphone ready
health-battery = Battery { $percent }%
health-battery-charging = Battery { $percent }%, charging
health-offline = not connected: check that it is switched on and on the Wi-Fi
health-no-camera = no camera it can use
health-no-microphone = no microphone it can use
health-low-battery = battery low and not charging: plug it in
health-kiosk-uptime = Kiosk program running: { $hours } h
health-kiosk-restarts = Browser restarts by the kiosk program: { $count }
today-warning-title = Check before the next visits
today-device-warning = { $device }: { $problem }
device-removed-title = This device was removed
device-removed-body = Staff removed this device from Menkai, so it will not join visits any more. Please ask staff.
confirm-keep = Go back
confirm-end = End the visit with { $resident } now? Everyone in the call is disconnected.
confirm-cancel = Cancel the visit with { $resident } at { $time }? The family's links stop working.
confirm-revoke = Remove { $device }? It stops joining visits and must be set up again to be used.
confirm-archive = Archive { $resident }? No more visits can be booked for them.
inv-reissued-title = A new link
inv-reissued = A new link for the visit with { $resident }, { $when }. The old link no longer works: send this one instead.
call-peer-reconnecting = Reconnecting…
device-warn-insecure = This tablet cannot use its camera or microphone: it is not opened on a secure (https://) address. Staff: open the Menkai address that starts with https://.
device-warn-denied = This tablet is not allowed to use its camera or microphone. Staff: allow Camera and Microphone for this page in the browser settings.
device-warn-missing = This tablet has no camera or microphone it can use. Staff: check that they are connected and not used by another app.
call-mic-none = No microphone
call-cam-none = No camera
call-no-picture-device = The tablet sends no picture (no camera it can use). Staff have been told. You can still talk.
call-no-picture-guest = { "{" }name{ "}" } has no camera: you can hear them.
call-no-media-device = The tablet sends no picture or sound (no camera or microphone it can use). Staff have been told.
call-no-media-guest = { "{" }name{ "}" } has no camera or microphone.

# Staff pages: notices shown on every page
saved = Saved.
address-warning = Links made here work only on this computer: this server calls itself 127.0.0.1 or localhost, which families and tablets cannot reach.
address-warning-link = How to fix this
deploy-guide-title = Putting Menkai on the internet
first-steps-title = First steps
first-steps-settings = Settings: the home’s name, time zone, visiting hours and visit length
first-steps-devices = Devices: add the ward tablets and the entrance kiosk, and pair each one
first-steps-residents = Residents: add each resident by name and room
first-steps-book = Book the first visit
first-steps-done = done

## When the browser cannot make video calls, or the page stopped on an error
## (templates/browser_trouble.html, static/js/guard.js)
browser-unsupported-title = This browser cannot make video calls
browser-unsupported-body = Please open the same link in one of these browsers:
browser-unsupported-body-device = This device needs one of these browsers to take part in visits:
browser-works-iphone = iPhone or iPad: Safari (iOS 15 or newer)
browser-works-android = Android: Chrome
browser-works-computer = Computer: Chrome, Edge, Firefox or Safari
browser-unsupported-update = If you already use one of these, update it to its newest version. Browsers inside other apps (LINE, Facebook, mail) often cannot make calls: open the link in the browser itself.
browser-unsupported-missing = For the care home's staff — missing:
browser-crashed-title = Something went wrong
browser-crashed-body = This page stopped. Reload it to carry on; the visit is still there.
browser-crashed-reload = Reload the page

## The ward tablet added to a home screen (/device.webmanifest)
manifest-name = { $facility } video visits
