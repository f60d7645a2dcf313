// The public map's words in Ukrainian and English: every string the page shows, and the
// helpers that pick the language and format distances, bearings and dates.

export const LANGS = ['uk', 'en'];

export const STRINGS = {
  uk: {
    title: 'Карта вибухонебезпеки',
    subtitle: 'Міни та нерозірвані боєприпаси · Cairn',
    emergency: 'Підозрілий предмет? Не торкайтеся, відійдіть тим самим шляхом і телефонуйте',
    emergencyNumbers: '101 / 112',
    toolPlace: 'Перевірити місце',
    toolGps: 'Моє місцеперебування',
    toolRoute: 'Перевірити маршрут',
    hintBrowse: 'Торкніться небезпечної території, щоб побачити подробиці.',
    hintPlace: 'Торкніться мапи в місці, яке треба перевірити.',
    hintRoute: 'Торкайтеся мапи, щоб позначити точки маршруту, потім натисніть «Перевірити».',
    routeCheck: 'Перевірити',
    routeUndo: 'Прибрати точку',
    routeClear: 'Очистити',
    routeWidth: 'Ширина смуги',
    routePoints: (n) => `Точок маршруту: ${n}`,
    cancel: 'Скасувати',
    close: 'Закрити',
    locating: 'Визначаємо ваше місцеперебування…',
    checking: 'Перевіряємо…',
    gpsDenied: 'Не вдалося визначити місцеперебування. Дозвольте доступ до геолокації або торкніться мапи.',
    gpsUnavailable: 'Цей пристрій не може визначити місцеперебування. Торкніться мапи.',
    accuracy: (m) => `точність ±${m}`,
    yourPlace: 'Перевірене місце',
    insideList: 'Ви в межах:',
    nearList: 'У межах точності GPS:',
    nearest: 'Найближча зареєстрована небезпека',
    nearestNone: 'Найближча зареєстрована небезпека далі ніж за 50 км.',
    direction: (d, dir, deg) => `${d} на ${dir} (${deg}°)`,
    routeLength: (len, w) => `Маршрут ${len}, смуга ${w}`,
    routeCrosses: (n) => `Перетинає небезпечних територій: ${n}`,
    routeAtRisk: (m) => `Під загрозою: ${m} маршруту`,
    routeFromTo: (a, b) => `від ${a} до ${b} від початку`,
    routeNeedTwo: 'Позначте щонайменше дві точки.',
    serviceError: 'Сервіс не відповів. Спробуйте ще раз; у разі небезпеки телефонуйте 101 або 112.',
    legendTitle: 'Умовні позначення',
    legendConfirmed: 'Підтверджена небезпека',
    legendSuspected: 'Підозрювана небезпека',
    legendReduced: 'Зменшена (небезпека лишається)',
    legendReported: 'Повідомлено, ще не обстежено',
    legendZone: 'Небезпечна зона (межі не оприлюднено)',
    legendSettlement: 'Населений пункт',
    legendRoute: 'Маршрут (червоне — загроза)',
    legendNote: 'Відсутність позначки не означає, що місце безпечне.',
    dataDate: 'Дані станом на',
    dataLoading: 'Завантаження даних…',
    dataShown: (n) => `На мапі: ${n}`,
    dataPartial: (n, m) => `Показано ${n} з ${m}; наблизьте мапу, щоб побачити всі.`,
    dataZoomIn: 'Наблизьте мапу, щоб побачити окремі території.',
    status: {
      confirmed: 'Підтверджена небезпечна територія',
      suspected: 'Підозрювана небезпечна територія',
      reduced: 'Зменшена територія (небезпека лишається)',
      reported: 'Повідомлено, ще не обстежено: не наближайтеся',
      'danger-zone': 'Небезпечна зона',
    },
    zoneLabel: 'НЕБЕЗПЕЧНА ЗОНА',
    zoneNote: 'Точні межі цієї території не оприлюднюються; зона їх повністю охоплює.',
    fieldName: 'Назва',
    fieldMarking: 'Позначення на місцевості',
    fieldOrganisation: 'Організація',
    fieldReported: 'Зареєстровано',
    fieldDevices: 'Що може бути',
    fieldEvidence: 'Підстава',
    fieldId: 'Ідентифікатор',
    fieldDataDate: 'Дані станом на',
    fieldSize: 'Розмір',
    radius: (m) => `радіус ${m}`,
    width: (m) => `смуга шириною ${m}`,
    cellCount: (n) => `Небезпечних територій у цьому квадраті: ${n}. Наблизьте мапу, щоб побачити їх.`,
    marking: {
      unmarked: 'не позначена',
      'partially-marked': 'позначена частково',
      marked: 'позначена',
      fenced: 'огороджена',
    },
    evidence: { direct: 'прямі докази', indirect: 'непрямі докази' },
    category: {
      'ap-mine': 'протипіхотні міни',
      'at-mine': 'протитранспортні міни',
      'cluster-munition-remnant': 'залишки касетних боєприпасів',
      uxo: 'нерозірвані боєприпаси',
      ied: 'саморобні вибухові пристрої',
      other: 'інші вибухонебезпечні предмети',
    },
    unknown: 'невідомо',
    compass: ['північ', 'північний схід', 'схід', 'південний схід', 'південь', 'південний захід', 'захід', 'північний захід'],
    m: 'м',
    km: 'км',
    sheetOpen: 'Розгорнути панель',
    sheetClose: 'Згорнути панель',
    toolReport: 'Повідомити про підозрілий предмет',
    reportTitle: 'Повідомити про підозрілий предмет',
    reportWarning: 'Не підходьте й не торкайтеся, щоб сфотографувати. Повідомляйте з безпечного місця.',
    reportPlaceNone: 'Торкніться мапи там, де ви бачили предмет, або скористайтеся своїм місцеперебуванням.',
    reportPlace: (lat, lon) => `Місце: ${lat}, ${lon}`,
    reportUseGps: 'Моє місцеперебування',
    reportCategory: 'Що ви бачили?',
    reportChoose: 'Оберіть…',
    catMine: 'Міна',
    catShell: 'Снаряд, міна для міномета або авіабомба',
    catRocket: 'Ракета або її частина',
    catCluster: 'Касетний суббоєприпас',
    catGrenade: 'Граната',
    catTripwire: 'Розтяжка (дріт, нитка)',
    catUnknown: 'Невідомий предмет',
    reportText: 'Опишіть, що і де саме (необов’язково)',
    reportPhoto: 'Фото (необов’язково)',
    reportNote: 'Ім’я та телефон не потрібні. Фото зменшується, а дані про пристрій з нього видаляються.',
    reportSend: 'Надіслати',
    reportSending: 'Надсилаємо…',
    reportNeedPlace: 'Позначте місце: торкніться мапи або скористайтеся своїм місцеперебуванням.',
    reportNeedCategory: 'Оберіть, що ви бачили.',
    reportPhotoBad: 'Не вдалося прочитати фото. Оберіть знімок JPEG, PNG або WebP.',
    reportDone: 'Повідомлення отримано. Ваш номер:',
    reportKeep: 'Запишіть цей номер і назвіть його, якщо телефонуватимете 101 або 112.',
    reportFailed: 'Повідомлення не надіслано:',
    reportAnother: 'Повідомити ще',
    mapLabel: 'Мапа небезпечних територій',
    langName: 'Українська',
    attribution: 'Natural Earth · GeoNames, geonames.org (CC BY 4.0)',
  },
  en: {
    title: 'Explosive hazard map',
    subtitle: 'Mines and unexploded ordnance · Cairn',
    emergency: 'Suspicious object? Do not touch it, go back the way you came, call',
    emergencyNumbers: '101 / 112',
    toolPlace: 'Check a place',
    toolGps: 'My location',
    toolRoute: 'Check a route',
    hintBrowse: 'Tap a hazardous area to see its details.',
    hintPlace: 'Tap the map at the place to check.',
    hintRoute: 'Tap the map to mark the route\u2019s points, then press “Check”.',
    routeCheck: 'Check',
    routeUndo: 'Remove point',
    routeClear: 'Clear',
    routeWidth: 'Corridor width',
    routePoints: (n) => `Route points: ${n}`,
    cancel: 'Cancel',
    close: 'Close',
    locating: 'Finding your location…',
    checking: 'Checking…',
    gpsDenied: 'Could not find your location. Allow location access, or tap the map.',
    gpsUnavailable: 'This device cannot tell its location. Tap the map instead.',
    accuracy: (m) => `accuracy ±${m}`,
    yourPlace: 'Place checked',
    insideList: 'You are inside:',
    nearList: 'Within the GPS accuracy:',
    nearest: 'Nearest recorded hazard',
    nearestNone: 'No recorded hazard within 50 km.',
    direction: (d, dir, deg) => `${d} to the ${dir} (${deg}°)`,
    routeLength: (len, w) => `Route ${len}, corridor ${w}`,
    routeCrosses: (n) => `Hazardous areas crossed: ${n}`,
    routeAtRisk: (m) => `At risk: ${m} of the route`,
    routeFromTo: (a, b) => `from ${a} to ${b} along the route`,
    routeNeedTwo: 'Mark at least two points.',
    serviceError: 'The service did not answer. Try again; in danger call 101 or 112.',
    legendTitle: 'Legend',
    legendConfirmed: 'Confirmed hazard',
    legendSuspected: 'Suspected hazard',
    legendReduced: 'Reduced area (hazard remains)',
    legendReported: 'Reported, not yet surveyed',
    legendZone: 'Danger zone (outline not published)',
    legendSettlement: 'Settlement',
    legendRoute: 'Route (red: at risk)',
    legendNote: 'No mark on the map does not mean a place is safe.',
    dataDate: 'Data as of',
    dataLoading: 'Loading data…',
    dataShown: (n) => `On the map: ${n}`,
    dataPartial: (n, m) => `Showing ${n} of ${m}; zoom in to see all.`,
    dataZoomIn: 'Zoom in to see individual areas.',
    status: {
      confirmed: 'Confirmed hazardous area',
      suspected: 'Suspected hazardous area',
      reduced: 'Reduced area (hazard remains)',
      reported: 'Reported, not yet surveyed: keep away',
      'danger-zone': 'Danger zone',
    },
    zoneLabel: 'DANGER ZONE',
    zoneNote: 'The exact outline of this area is not published; the zone covers all of it.',
    fieldName: 'Name',
    fieldMarking: 'Marking on the ground',
    fieldOrganisation: 'Organisation',
    fieldReported: 'Reported',
    fieldDevices: 'What may be there',
    fieldEvidence: 'Evidence',
    fieldId: 'Identifier',
    fieldDataDate: 'Data as of',
    fieldSize: 'Size',
    radius: (m) => `radius ${m}`,
    width: (m) => `a strip ${m} wide`,
    cellCount: (n) => `Hazardous areas in this square: ${n}. Zoom in to see them.`,
    marking: {
      unmarked: 'not marked',
      'partially-marked': 'partly marked',
      marked: 'marked',
      fenced: 'fenced',
    },
    evidence: { direct: 'direct evidence', indirect: 'indirect evidence' },
    category: {
      'ap-mine': 'anti-personnel mines',
      'at-mine': 'anti-tank mines',
      'cluster-munition-remnant': 'cluster munition remnants',
      uxo: 'unexploded ordnance',
      ied: 'improvised explosive devices',
      other: 'other explosive ordnance',
    },
    unknown: 'unknown',
    compass: ['north', 'north-east', 'east', 'south-east', 'south', 'south-west', 'west', 'north-west'],
    m: 'm',
    km: 'km',
    sheetOpen: 'Open the panel',
    sheetClose: 'Close the panel',
    toolReport: 'Report a suspicious object',
    reportTitle: 'Report a suspicious object',
    reportWarning: 'Do not go closer or touch it to take a photo. Report from a safe place.',
    reportPlaceNone: 'Tap the map where you saw the object, or use your location.',
    reportPlace: (lat, lon) => `Place: ${lat}, ${lon}`,
    reportUseGps: 'My location',
    reportCategory: 'What did you see?',
    reportChoose: 'Choose…',
    catMine: 'Mine',
    catShell: 'Shell, mortar bomb or aircraft bomb',
    catRocket: 'Rocket or missile, or part of one',
    catCluster: 'Cluster submunition',
    catGrenade: 'Grenade',
    catTripwire: 'Tripwire (wire or thread)',
    catUnknown: 'Unknown object',
    reportText: 'Describe what and exactly where (optional)',
    reportPhoto: 'Photo (optional)',
    reportNote: 'No name or phone number is needed. The photo is made smaller and the data about your device is removed.',
    reportSend: 'Send',
    reportSending: 'Sending…',
    reportNeedPlace: 'Mark the place: tap the map or use your location.',
    reportNeedCategory: 'Choose what you saw.',
    reportPhotoBad: 'The photo could not be read. Choose a JPEG, PNG or WebP picture.',
    reportDone: 'Report received. Your reference:',
    reportKeep: 'Write this reference down and give it if you call 101 or 112.',
    reportFailed: 'The report was not sent:',
    reportAnother: 'Report another',
    mapLabel: 'Map of hazardous areas',
    langName: 'English',
    attribution: 'Natural Earth · GeoNames, geonames.org (CC BY 4.0)',
  },
};

// The language to start in: a saved choice, then `?lang=`, then the browser's languages;
// Ukrainian (and the languages of people likely to read it) first, English for the rest.
export function initialLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (LANGS.includes(q)) return q;
  try {
    const saved = localStorage.getItem('cairn.lang');
    if (LANGS.includes(saved)) return saved;
  } catch (_) {
    // Storage may be off (private mode): fall through.
  }
  const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'uk'];
  for (const l of prefs) {
    const p = String(l).toLowerCase().slice(0, 2);
    if (p === 'uk' || p === 'ru' || p === 'be') return 'uk';
    if (p === 'en') return 'en';
  }
  return 'en';
}

export function saveLang(lang) {
  try {
    localStorage.setItem('cairn.lang', lang);
  } catch (_) {
    // Not saved: the choice still holds for this visit.
  }
}

// A distance in metres as people read it: "35 m", "850 m", "1.2 km", "24 km".
export function distance(lang, metres) {
  const s = STRINGS[lang];
  const nf = (v, d) => v.toLocaleString(lang === 'uk' ? 'uk-UA' : 'en-GB', { maximumFractionDigits: d, minimumFractionDigits: d });
  if (metres < 1000) return `${nf(Math.round(metres), 0)} ${s.m}`;
  if (metres < 10000) return `${nf(metres / 1000, 1)} ${s.km}`;
  return `${nf(Math.round(metres / 1000), 0)} ${s.km}`;
}

// A bearing in degrees as a compass word.
export function compass(lang, deg) {
  const i = Math.round((((deg % 360) + 360) % 360) / 45) % 8;
  return STRINGS[lang].compass[i];
}

// A date (and time when given) in the language's usual form.
export function date(lang, iso, withTime = false) {
  if (!iso) return STRINGS[lang].unknown;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = withTime
    ? { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' }
    : { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' };
  return d.toLocaleString(lang === 'uk' ? 'uk-UA' : 'en-GB', opts);
}
