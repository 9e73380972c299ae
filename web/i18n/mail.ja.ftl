# E-mail to families (signaling/src/messages): subjects and bodies.

## 件名（$resident、$when は「12月8日（火）9:00」）。玄関での面会にも同じ件名を使います。
mail-subject-invitation = 【面会のご案内】{ $resident }さん { $when }
mail-subject-reminder_day = 【明日の面会】{ $resident }さん { $when }
mail-subject-reminder_soon = 【まもなく面会】{ $resident }さん { $when }
mail-subject-changed = 【面会の日時変更】{ $resident }さん { $when }
mail-subject-cancelled = 【面会の取り消し】{ $resident }さん { $when }

## menkai admin mail test のテストメール
mail-test-subject = 【テスト】面会システムからのメール
mail-test-body = { $facility }の面会システムから送ったテストメールです。このメールが届いていれば、メールの送信は正しく設定されています。返信は不要です。

## 添付のカレンダー
mail-calendar-summary = { $resident }さんとの面会
mail-calendar-alarm = まもなく面会の時間です

## 本文のはじめ
mail-greeting = { $guest } 様
mail-from = { $facility }からのお知らせです。
mail-heading =
    { $kind ->
        [reminder_day] 明日は面会の日です
        [reminder_soon] まもなく面会の時間です
        [changed] 面会の日時が変わりました
        [cancelled] 面会は取り消しになりました
       *[invitation] 面会のご案内
    }
mail-lead-invitation = { $resident }さんとのオンライン面会を、下記の日時で予約しました。
mail-lead-invitation-entrance = { $resident }さんとの面会を、下記の日時で予約しました。面会は、施設の玄関にある画面で行います。
mail-lead-reminder_day = 明日は、{ $resident }さんとの面会の日です。
mail-lead-reminder_soon = 本日 { $time } から、{ $resident }さんとの面会です。
mail-lead-changed = { $resident }さんとの面会の日時が、下記のとおり変わりました。
mail-lead-cancelled = { $resident }さんとの下記の面会は、取り消しになりました。

## 日時（$time は「9:00–9:20」）
mail-when = 日時：{ $date } { $time }
mail-when-new = 新しい日時：{ $date } { $time }
mail-when-before = 変更前の日時：{ $before }
mail-minutes = 面会時間：{ $minutes }分
mail-where-entrance = 場所：{ $facility } 玄関（受付）

## 自宅からの面会（リンク）
mail-link-intro = 時間になったら、スマートフォンで次のリンクを開いてください（タブレットやパソコンでも参加できます）。
mail-button = 面会のページを開く
mail-link-fallback = ボタンが押せないときは、次のアドレスを開いてください。
mail-qr-alt = 面会のページを開く QR コード
mail-qr-hint = パソコンでこのメールをご覧の場合は、スマートフォンのカメラでこの QR コードを読み取ると、スマートフォンで面会のページを開けます。
mail-how-start = 面会は自動で始まります。カメラとマイクの使用を求められたら「許可」を押してください。
mail-how-open = リンクは、開始の15分前から使えます。アプリのインストールは不要です。
mail-how-private = このリンクは、ほかの方には教えないでください。
mail-changed-link = お送りしているリンクは、そのまま使えます。

## 事前の確認（カメラと音）
mail-check-intro = 面会の日までに、カメラと音が使えるか試しておくと安心です。1分ほどで終わります。
mail-check-button = カメラと音を試す
mail-check-ready = 事前の確認では、お使いのスマートフォン・パソコンに問題はありませんでした。当日も、確認したときと同じ機器でリンクを開いてください。
mail-check-problem = 事前の確認で、次のことが見つかりました。
mail-check-problem-advice = 下のリンクから、もう一度確認してください。うまくいかないときは、施設にお電話ください。
mail-check-none = カメラと音の事前確認が、まだお済みでないようです。1分ほどで終わりますので、今日のうちに下のリンクからお試しください。

## 玄関での面会
mail-entrance-come = { $time }の数分前に、{ $facility }の受付にお越しください。
mail-entrance-staff = 「面会に来ました」と受付にお伝えください。職員が画面の前にご案内します。
mail-entrance-start = 面会は自動で始まります。操作は必要ありません。
mail-entrance-nothing = リンクやアプリの準備は必要ありません。

## カレンダーと保存
mail-calendar-attached = 添付のカレンダーファイルを開くと、この面会をカレンダーに追加できます。
mail-keep = このメールは、面会の日まで保存しておいてください。
mail-calendar-changed = カレンダーに追加していた場合は、添付のカレンダーファイルを開くと、予定を新しい日時に変更できます。

## 取り消し
mail-cancelled-link = お送りしていたリンクは、もう使えません。
mail-cancelled-entrance = この面会のために受付へお越しいただく必要はありません。
mail-cancelled-again = 別の日時で面会をご希望の場合は、施設にお電話ください。
mail-calendar-cancelled = カレンダーに追加していた場合は、添付のカレンダーファイルを開くと、予定を削除できます。

## 本文の終わり
mail-phone = ご不明な点は、{ $facility }（{ $phone }）までお電話ください。
mail-contact = ご不明な点は、{ $facility }までお問い合わせください。
mail-footer-sent = このメールは、{ $facility }の面会システムから自動で送信しています。
mail-footer-noreply = このメールへの返信は読まれません。
