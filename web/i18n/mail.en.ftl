# E-mail to families (signaling/src/messages): subjects and bodies.

## Subjects ($resident; $when is "Tue 8 Dec, 9:00"). Entrance visits use the same subjects.
mail-subject-invitation = Your visit with { $resident }: { $when }
mail-subject-reminder_day = Tomorrow: your visit with { $resident }, { $when }
mail-subject-reminder_soon = Starting soon: your visit with { $resident }, { $when }
mail-subject-changed = New time: your visit with { $resident }, { $when }
mail-subject-cancelled = Cancelled: your visit with { $resident }, { $when }

## The test message of menkai admin mail test
mail-test-subject = Test message from the visit system
mail-test-body = This is a test message from the visit system of { $facility }. If you can read it, sending e-mail is set up correctly. There is no need to reply.

## The attached calendar entry
mail-calendar-summary = Visit with { $resident }
mail-calendar-alarm = Your visit starts soon

## The start of the message
mail-greeting = Dear { $guest },
mail-from = This is a message from { $facility }.
mail-heading =
    { $kind ->
        [reminder_day] Your visit is tomorrow
        [reminder_soon] Your visit starts soon
        [changed] The time of your visit has changed
        [cancelled] Your visit has been cancelled
       *[invitation] Your visit is booked
    }
mail-lead-invitation = We have booked a video visit for you with { $resident } at the time below.
mail-lead-invitation-entrance = We have booked a visit for you with { $resident } at the time below. It takes place on the video screen at the entrance of the care home.
mail-lead-reminder_day = Your visit with { $resident } is tomorrow.
mail-lead-reminder_soon = Your visit with { $resident } starts today at { $time }.
mail-lead-changed = The time of your visit with { $resident } has changed, as shown below.
mail-lead-cancelled = The following visit with { $resident } has been cancelled.

## Date and time ($time is "9:00–9:20")
mail-when = When: { $date }, { $time }
mail-when-new = New time: { $date }, { $time }
mail-when-before = Old time: { $before }
mail-minutes = Length: { $minutes } minutes
mail-where-entrance = Where: reception at { $facility }

## Visits from home (the link)
mail-link-intro = When it is time, open this link on your phone (a tablet or computer works too):
mail-button = Open the visit page
mail-link-fallback = If the button does not work, open this address:
mail-qr-alt = QR code that opens the visit page
mail-qr-hint = If you are reading this on a computer, you can also point your phone's camera at this QR code to open the page on your phone.
mail-how-start = The call starts by itself. If your phone asks to use the camera and microphone, tap "Allow".
mail-how-open = You can open the link from 15 minutes before the start. There is no app to install.
mail-how-private = Please do not share this link with anyone else.
mail-changed-link = The link we sent you still works:

## The pre-visit check (camera and sound)
mail-check-intro = Before the day of the visit, you can try your camera and sound. It takes about a minute.
mail-check-button = Try my camera and sound
mail-check-ready = Your pre-visit check went well: your phone or computer is ready. On the day, please open the link on the same device you checked with.
mail-check-problem = Your pre-visit check found a problem:
mail-check-problem-advice = Please run the check again with the link below. If it still does not work, please call the care home.
mail-check-none = It looks like you have not tried your camera and sound yet. It takes about a minute. Please try them today with the link below.

## Visits at the entrance
mail-entrance-come = Please come to reception at { $facility } a few minutes before { $time }.
mail-entrance-staff = Tell the staff you have come for a visit. They will take you to the screen.
mail-entrance-start = The call starts by itself. There is nothing to press.
mail-entrance-nothing = You do not need a link or an app.

## Calendar and keeping this message
mail-calendar-attached = Open the attached calendar file to add this visit to your calendar.
mail-keep = Please keep this e-mail until the day of the visit.
mail-calendar-changed = If you added the visit to your calendar, open the attached calendar file to move it to the new time.

## Cancellation
mail-cancelled-link = The link we sent you no longer works.
mail-cancelled-entrance = There is no need to come to reception for this visit.
mail-cancelled-again = To arrange another time, please call the care home.
mail-calendar-cancelled = If you added the visit to your calendar, open the attached calendar file to remove it.

## The end of the message
mail-phone = If you have questions, please call { $facility } on { $phone }.
mail-contact = If you have questions, please contact { $facility }.
mail-footer-sent = This e-mail was sent automatically by the visit system of { $facility }.
mail-footer-noreply = Replies to this e-mail are not read.
